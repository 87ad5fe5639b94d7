# Copyright (c) mmfer4d contributors. All rights reserved.
"""Cost of the Decoupled Fine-tuning Network against full fine-tuning.

For each case (the same model, task and input for both modes) prints
trainable parameters, peak training memory and step time of
:class:`~mmfer4d.models.DecoupledFineTuner` (frozen backbone under
``no_grad``, side network + head trained) and
:class:`~mmfer4d.models.FullFineTuner` (everything trained), their ratios,
and the issue-15 targets (DFN at most 10% of the trainable parameters and
at least 2x less peak training memory).

Every (case, mode) runs in its own subprocess, so that one measurement does
not inherit the other's allocations. A step is forward (``mode='loss'``),
backward and an AdamW step on a fixed random batch. Peak training memory:

- CUDA (when available): ``torch.cuda.max_memory_allocated`` during the
  steps minus what was allocated before the first step (model, optimizer
  shell, batch): the activations kept for backward, gradients, optimizer
  state and workspace;
- CPU: the rise of the process's peak resident set (``ru_maxrss``) from
  just before the first step to after the last, the same quantity as the
  allocator sees it (torch's CPU tensors are not visible to tracemalloc).

Step time: median wall time of the steps after ``--warmup`` warm-up steps,
with ``--threads`` intra-op threads (1 by default: the machine is shared).

Cases: ``resnet18-w16-3view`` (the tiny multi-view config of the demos:
ResNet-18 with 16 base channels and a 16-channel stem, 3 views of 96 px
normal maps, batch 32, 3 x 3 grid pooling, learnable view weights, a
6-class linear head) and ``resnet50-112`` (ResNet-50, 3 views at 112 px,
batch 8, global pooling, 6 classes).

Usage::

    python benchmarks/dfn_cost.py [--cases resnet18-w16-3view resnet50-112]
        [--steps 5] [--warmup 1] [--threads 1] [--device cpu|cuda]
"""
import argparse
import json
import os
import os.path as osp
import platform
import resource
import statistics
import subprocess
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))

CASES = {
    'resnet18-w16-3view': dict(
        backbone=dict(type='ResNet', depth=18, base_channels=16,
                      stem_channels=16, in_channels=3, out_indices=(3, )),
        neck=dict(type='MultiViewNeck', spatial_grid=3),
        view_fusion=dict(type='LearnableViewWeightFusion', num_views=3),
        # Its layers are 16-128 wide: the 64-wide bottleneck is capped at
        # the layer's width (SideNetwork cap_down_channels), as in the DFN
        # config of configs/mf2/.
        side=dict(down_channels=64),
        batch=32, views=3, size=96),
    'resnet50-112': dict(
        backbone=dict(type='ResNet', depth=50, in_channels=3,
                      out_indices=(3, )),
        neck=dict(type='MultiViewNeck'),
        view_fusion=dict(type='LearnableViewWeightFusion', num_views=3),
        batch=8, views=3, size=112),
}
MODES = {'dfn': 'DecoupledFineTuner', 'full': 'FullFineTuner'}


def _maxrss_bytes() -> int:
    # Linux reports kilobytes, macOS bytes.
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss if sys.platform == 'darwin' else rss * 1024


def worker(case: str, mode: str, steps: int, warmup: int, threads: int,
           device: str, side_overrides: dict) -> dict:
    """Measure one (case, mode) in this process; returns the numbers."""
    import torch
    from mmengine.registry import init_default_scope
    from mmpretrain.structures import DataSample

    import mmfer4d.models  # noqa: F401
    from mmfer4d.registry import MODELS
    torch.set_num_threads(threads)
    init_default_scope('mmfer4d')
    torch.manual_seed(0)
    spec = CASES[case]
    model = MODELS.build(
        dict(type=MODES[mode], backbone=spec['backbone'], neck=spec['neck'],
             side=dict(spec.get('side', {}), **side_overrides),
             view_fusion=spec['view_fusion'],
             head=dict(type='LinearClsHead', num_classes=6),
             data_preprocessor=dict(
                 type='MultiViewDataPreprocessor', mean=[127.5] * 3,
                 std=[127.5] * 3))).to(device)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-3)
    x = torch.randn(spec['batch'], spec['views'], 3, spec['size'],
                    spec['size'], device=device)
    data = [DataSample().set_gt_label(i % 6) for i in range(spec['batch'])]
    cuda = device.startswith('cuda')

    def step():
        loss = model(x, data, mode='loss')['loss_cls']
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if cuda:
            torch.cuda.synchronize()

    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    base_rss = _maxrss_bytes()
    times = []
    for i in range(warmup + steps):
        start = time.perf_counter()
        step()
        if i >= warmup:
            times.append(time.perf_counter() - start)
    peak = (torch.cuda.max_memory_allocated() - base) if cuda else \
        (_maxrss_bytes() - base_rss)
    return dict(
        case=case, mode=mode, device=device,
        trainable_params=sum(p.numel() for p in params),
        total_params=sum(p.numel() for p in model.parameters()),
        peak_train_mem_mib=peak / 2**20,
        memory_measure='cuda max_memory_allocated' if cuda else
        'ru_maxrss rise',
        step_s=statistics.median(times),
        batch=spec['batch'], views=spec['views'], size=spec['size'])


def run_isolated(case, mode, args) -> dict:
    """:func:`worker` in a fresh interpreter."""
    cmd = [sys.executable, osp.abspath(__file__), '--worker', case, mode,
           '--steps', str(args.steps), '--warmup', str(args.warmup),
           '--threads', str(args.threads), '--device', args.device,
           '--side', json.dumps(args.side)]
    env = dict(os.environ)
    env['PYTHONPATH'] = ROOT + os.pathsep + env.get('PYTHONPATH', '')
    out = subprocess.run(cmd, check=True, capture_output=True, text=True,
                         env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def format_table(rows) -> str:
    lines = [
        '| Case | Mode | Trainable params | Share of full FT | Peak train '
        'memory (MiB) | Full FT / DFN memory | Step time (s) |',
        '| --- | --- | ---: | ---: | ---: | ---: | ---: |'
    ]
    by = {(r['case'], r['mode']): r for r in rows}
    for r in rows:
        full = by.get((r['case'], 'full'))
        share = r['trainable_params'] / full['trainable_params'] \
            if full else float('nan')
        mem = full['peak_train_mem_mib'] / max(r['peak_train_mem_mib'],
                                               1e-9) if full else float('nan')
        lines.append(
            f"| {r['case']} (batch {r['batch']} x {r['views']} views, "
            f"{r['size']} px) | {r['mode']} | {r['trainable_params']:,} | "
            f'{100 * share:.1f}% | {r["peak_train_mem_mib"]:.0f} | '
            f'{mem:.2f}x | {r["step_s"]:.3f} |')
    return '\n'.join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--cases', nargs='+', default=list(CASES),
                        choices=sorted(CASES))
    parser.add_argument('--steps', type=int, default=5)
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--side', type=json.loads, default={},
                        help='SideNetwork overrides (JSON), e.g. '
                        '\'{"down_channels": 64}\'')
    parser.add_argument('--worker', nargs=2, metavar=('CASE', 'MODE'),
                        help=argparse.SUPPRESS)
    parser.add_argument('--json', help='also write the rows to this file')
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(*args.worker, args.steps, args.warmup,
                                args.threads, args.device, args.side)))
        return
    rows = [run_isolated(c, m, args) for c in args.cases for m in MODES]
    print(f'DFN vs full fine-tuning, {platform.node() or "?"} '
          f'({os.cpu_count()} CPUs, {args.device}, {args.threads} '
          f'thread(s)), {time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}'
          f'; memory: {rows[0]["memory_measure"]}')
    print(format_table(rows))
    by = {(r['case'], r['mode']): r for r in rows}
    for case in args.cases:
        dfn, full = by[(case, 'dfn')], by[(case, 'full')]
        share = dfn['trainable_params'] / full['trainable_params']
        mem = full['peak_train_mem_mib'] / max(dfn['peak_train_mem_mib'],
                                               1e-9)
        print(f'{case}: trainable {100 * share:.1f}% of full FT '
              f'(target <= 10%: {"met" if share <= 0.10 else "missed"}); '
              f'peak memory {mem:.2f}x lower (target >= 2x: '
              f'{"met" if mem >= 2 else "missed"}); step '
              f'{full["step_s"] / dfn["step_s"]:.2f}x faster')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(rows, f, indent=2)


if __name__ == '__main__':
    main()
