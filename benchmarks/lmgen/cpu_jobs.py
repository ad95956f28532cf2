"""Per-job and per-phase CPU seconds of a quadrec run from a /proc CPU sample file.
usage: cpu_jobs.py run.log cpu.samples records.jsonl"""
import json, sys, datetime
log, cpuf, recs = sys.argv[1:4]
cpu = [tuple(map(float, l.split())) for l in open(cpuf) if len(l.split()) == 2]
def ts(s): return datetime.datetime.fromisoformat(s.replace('Z', '+00:00')).timestamp()
def at(t):
    return min(cpu, key=lambda x: abs(x[0] - t))[1] / 100
starts = []
for l in open(log):
    if 'start job=' in l:
        starts.append((ts(l.split()[0]), l.split('start job=')[1].split('/')[2]))
fit = {}
for l in open(recs):
    r = json.loads(l)
    k = r['method']['id'] + (':' + r['method']['variant'] if r['method'].get('variant') else '')
    fit[k] = r['cost']['train_seconds']
end = cpu[-1][0]
for i, (t, j) in enumerate(starts):
    n = starts[i + 1][0] if i + 1 < len(starts) else end
    f = fit.get(j)
    tf = t + f if f is not None else None
    cf = (at(tf) - at(t)) if tf else float('nan')
    print(f"| {j} | {n - t:.0f} | {at(n) - at(t):.1f} | {cf:.1f} | {at(n) - at(t) - cf:.1f} |")
