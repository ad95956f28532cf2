#!/usr/bin/env bash
# usage: sample_cpu.sh PID OUT ; writes "unix_time utime+stime(ticks)" every 2 s while PID lives
pid=$1; out=$2; : > "$out"
while [ -e /proc/$pid/stat ]; do
  t=$(date +%s.%N); s=$(awk '{print $14+$15}' /proc/$pid/stat 2>/dev/null) || break
  echo "$t $s" >> "$out"; sleep 2
done
