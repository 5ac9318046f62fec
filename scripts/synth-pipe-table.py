#!/usr/bin/env python3
"""synth-pipe-table.py - the resource table of one layer pipeline from the
Yosys reports of scripts/synth-pipe.sh, and the pipelines per card.

  synth-pipe-table.py OUTDIR [CONFIG]     (prints the table)

Columns, summed over a row's instances (what one pipeline pays):
  LUT     logic LUTs (LUT1..LUT6)
  LUTRAM  LUTs used as distributed RAM or shift registers (RAM64M8 = 8, ...)
  FF      flip-flops (FDRE, FDSE, FDCE, FDPE)
  CARRY4  Yosys 0.23 maps adders to CARRY4 also for UltraScale+ (a CARRY8
          holds two)
  BRAM36  RAMB36E2 + RAMB18E2 / 2
  URAM    URAM288 (Yosys infers none without -uram)
  DSP     DSP48E2
fc / out marked *: the block at its real size did not run (Yosys 0.23 needs
hours for it); its logic is extrapolated in COUT from runs at 1/8, 1/4 and
1/2 of the outputs (quadratic; linear without the 1/2 run), its RAMs are the
weight RAM synthesised alone, its DSPs (the counters) those of the small run. A conv stage row is split into its engines, its LIF unit, its RAMs (weights:
snn_ram_tdp, thresholds: snn_ram) and the stage's own logic (patch buffer,
dispatch, hand-off mux, writer, counters).
"""
import os
import re
import sys

LUTRAM_LUTS = {
    'RAM32X1S': 1, 'RAM32X1D': 2, 'RAM64X1S': 1, 'RAM64X1D': 2, 'RAM128X1S': 2,
    'RAM128X1D': 4, 'RAM256X1S': 4, 'RAM256X1D': 8, 'RAM512X1S': 8, 'RAM32M': 4,
    'RAM64M': 4, 'RAM32M16': 8, 'RAM64M8': 8, 'SRL16E': 1, 'SRLC32E': 1, 'SRLC16E': 1,
}
COLS = ['LUT', 'LUTRAM', 'FF', 'CARRY4', 'BRAM36', 'URAM', 'DSP']

# Cards: LUT, FF, BRAM36, URAM, DSP (whole device; the platform's shell takes a
# part of it), SLRs (die regions). constraints/<card>.cfg places one compute
# unit (one pipeline) per SLR.
CARDS = [
    ('U250', 1728000, 3456000, 2688, 1280, 12288, 4),
    ('U55C/U280', 1304000, 2607000, 2016, 960, 9024, 3),
    ('U50', 872000, 1743000, 1344, 640, 5952, 2),
]
# Budgets per pipeline: 70% of the LUTs (routing: what the issue asks of the
# kernel); 90% of the DSP slices, which sit in fixed columns with their own
# routing and are fed here by registered operands (no cascades), so that a
# high share costs placement freedom but not LUT routing.
LUT_BUDGET = 0.70
DSP_BUDGET = 0.90


def res(cells):
    r = dict.fromkeys(COLS, 0.0)
    for t, n in cells.items():
        if re.fullmatch(r'LUT[1-6]', t):
            r['LUT'] += n
        elif t in LUTRAM_LUTS:
            r['LUTRAM'] += n * LUTRAM_LUTS[t]
        elif re.fullmatch(r'FD[RSCP]E', t):
            r['FF'] += n
        elif t in ('CARRY4', 'CARRY8'):
            r['CARRY4'] += n * (2 if t == 'CARRY8' else 1)
        elif t == 'RAMB36E2':
            r['BRAM36'] += n
        elif t == 'RAMB18E2':
            r['BRAM36'] += n / 2
        elif t == 'URAM288':
            r['URAM'] += n
        elif t == 'DSP48E2':
            r['DSP'] += n
    return r


def add(a, b, k=1):
    return {c: a[c] + k * b[c] for c in COLS}


def parse_stat(path):
    """{module: {cell type: count}} and {module: instances} (stat -top). The
    hierarchy lists a module's count per instance of its parent (indented
    under it): the instances are the product along the path."""
    mods, inst, cur, hier = {}, {}, None, False
    stack = []   # (indent, instances) of the enclosing modules
    for line in open(path):
        m = re.match(r'^=== (.*) ===$', line.strip())
        if m:
            cur = m.group(1)
            hier = cur == 'design hierarchy'
            if not hier:
                mods[cur] = {}
            continue
        if cur is None:
            continue
        m = re.match(r'^\s+(\S+)\s+(\d+)$', line)
        if not m:
            continue
        name, n = m.group(1), int(m.group(2))
        if hier:
            indent = len(line) - len(line.lstrip())
            while stack and stack[-1][0] >= indent:
                stack.pop()
            total = n * (stack[-1][1] if stack else 1)
            inst[name] = inst.get(name, 0) + total
            stack.append((indent, total))
        else:
            mods[cur][name] = n
    return mods, inst


def short(mod):
    """$paramod$<hash>\\snn_conv_engine\\CIN=... -> snn_conv_engine"""
    m = re.search(r'\\?(snn_\w+)', mod)
    return m.group(1) if m else mod


def block_rows(out, name, top, params, ninst, mode):
    """[(row name, parameters, instances, resources of all instances)]"""
    path = os.path.join(out, name + '.txt')
    if not os.path.exists(path):
        return None
    mods, inst = parse_stat(path)
    if mode != 'hier':
        (cells,) = mods.values() if mode == 'flat' else (mods.get(top, next(iter(mods.values()))),)
        label = 'kernel (own logic)' if mode == 'glue' else name
        p = '' if mode == 'glue' else params
        return [(label, p, ninst, {c: v * ninst for c, v in res(cells).items()})]
    rows = []
    order = {'snn_conv_engine': 0, 'snn_dsp_acc2': 1, 'snn_lif_unit': 2, 'snn_lif_serial': 2,
             'snn_ram_tdp': 3, 'snn_ram': 4, 'snn_conv_stage': 5}
    what = {'snn_conv_engine': 'engine', 'snn_dsp_acc2': 'engine DSP slices',
            'snn_lif_unit': 'LIF unit', 'snn_lif_serial': 'LIF unit (serial)',
            'snn_ram_tdp': 'weight RAM', 'snn_ram': 'threshold RAM', 'snn_conv_stage': 'own logic'}
    for mod, cells in sorted(mods.items(), key=lambda kv: order.get(short(kv[0]), 9)):
        s = short(mod)
        n = inst.get(mod, 1) if s != top else 1
        # the stage's own cells: its submodule instances are not cells of it
        r = res(cells)
        rows.append(('%s %s' % (name, what.get(s, s)), params if s == top else '', n * ninst,
                     {c: v * n * ninst for c, v in r.items()}))
    return rows


def fmt(v):
    return '{:,.0f}'.format(v) if v == int(v) else '{:,.1f}'.format(v)


def main():
    out = sys.argv[1]
    config = sys.argv[2] if len(sys.argv) > 2 else ''
    blocks = [l.rstrip('\n').split('\t') for l in open(os.path.join(out, 'blocks.tsv'))]
    rows, missing, checks = [], [], {}
    reports = {b[0]: b for b in blocks}
    for name, top, params, ninst, mode in blocks:
        if '@' in name:
            continue
        if (mode == 'flat' and not os.path.exists(os.path.join(out, name + '.txt'))
                and all(os.path.exists(os.path.join(out, name + s + '.txt')) for s in ('@8', '@4'))):
            # the logic extrapolated in COUT from the runs at 1/8, 1/4 (1/2)
            # of the outputs, the RAMs from the weight RAM alone
            def logic(s):
                r = block_rows(out, name + s, top, reports[name + s][2], 1, mode)[0][3]
                return r
            r8, r4 = logic('@8'), logic('@4')
            if os.path.exists(os.path.join(out, name + '@2.txt')):
                r2 = logic('@2')
                r = {c: 8 * r8[c] - 14 * r4[c] + 7 * r2[c] for c in COLS}
                how = 'quadratic in COUT from 1/8, 1/4, 1/2'
            else:
                r = {c: r8[c] + 7 * (r4[c] - r8[c]) for c in COLS}
                how = 'linear in COUT from 1/8, 1/4'
            ram = dict.fromkeys(COLS, 0.0)
            if name + '_wram' in reports:
                rr = block_rows(out, name + '_wram', 'snn_ram', reports[name + '_wram'][2], 1, 'flat')
                if rr:
                    ram = rr[0][3]
            for c in ('BRAM36', 'URAM'):
                r[c] = ram[c]
            r['DSP'] = r8['DSP']
            n = int(ninst)
            rows.append((name + ' *', params + ' (' + how + ')', n, {c: n * max(0.0, r[c]) for c in COLS}))
            continue
        if name.endswith('_wram'):
            continue
        if mode in ('rest', 'whole'):
            path = os.path.join(out, name + '.txt')
            if os.path.exists(path):
                mods, _ = parse_stat(path)
                checks[mode] = res(mods.get(top, next(iter(mods.values()))))
            continue
        r = block_rows(out, name, top, params, int(ninst), mode)
        if r is None:
            missing.append(name)
        else:
            rows.extend(r)
    total = dict.fromkeys(COLS, 0.0)
    for r in rows:
        total = add(total, r[3])

    w = max(len(r[0]) for r in rows + [('per pipeline',)])
    print('Resources of one layer pipeline%s (Yosys synth_xilinx -family xcup, block by block;'
          % (' (' + config + ')' if config else ''))
    print('each row: all instances of the block in one pipeline)')
    print()
    head = '%-*s %5s ' % (w, 'block', 'inst') + ' '.join('%9s' % c for c in COLS)
    print(head)
    print('-' * len(head))
    for name, params, n, r in rows:
        print('%-*s %5d ' % (w, name, n) + ' '.join('%9s' % fmt(r[c]) for c in COLS))
    print('-' * len(head))
    print('%-*s %5s ' % (w, 'per pipeline', '') + ' '.join('%9s' % fmt(total[c]) for c in COLS))
    if missing:
        print('\nmissing (failed or not run): ' + ', '.join(missing))

    def line(label, r):
        print('%-*s %5s ' % (w, label, '') + ' '.join('%9s' % fmt(r[c]) for c in COLS))

    if 'rest' in checks:
        part = dict.fromkeys(COLS, 0.0)
        for r in rows:
            if not r[0].startswith(('stage', 'fc', 'out', 'loader')):
                part = add(part, r[3])
        print('\ncheck: the blocks but the conv and fc stages and the loader, in the kernel '
              '(flattened, those as black boxes)')
        line('block sum', part)
        line('in the kernel', checks['rest'])
    if 'whole' in checks:
        print('\ncheck: the whole kernel flattened')
        line('block sum', total)
        line('whole kernel', checks['whole'])

    print('\nparameters:')
    for name, top, params, ninst, mode in blocks:
        if mode not in ('rest', 'whole', 'glue') and '@' not in name and '_wram' not in name:
            print('  %-8s %s %s' % (name, top, params))

    lut = total['LUT'] + total['LUTRAM']
    print('\nper card (LUT = logic + LUTRAM; %d%% of the LUTs and %d%% of the DSP slices at most, one'
          % (LUT_BUDGET * 100, DSP_BUDGET * 100))
    print('pipeline per SLR as constraints/<card>.cfg places them; whole-device figures, the')
    print('platform shell not subtracted):')
    for card, c_lut, c_ff, c_bram, c_uram, c_dsp, slrs in CARDS:
        lim = {'LUT': int(LUT_BUDGET * c_lut // lut) if lut else 0,
               'FF': int(c_ff // total['FF']) if total['FF'] else 0,
               'BRAM36': int(c_bram // total['BRAM36']) if total['BRAM36'] else 10**9,
               'DSP': int(DSP_BUDGET * c_dsp // total['DSP']) if total['DSP'] else 10**9,
               'SLR': slrs}
        n = min(lim.values())
        slr_lut = 100 * lut / (c_lut / slrs)
        slr_dsp = 100 * total['DSP'] / (c_dsp / slrs)
        print('  %-10s %d pipelines (limits: LUT %d, FF %d, BRAM36 %d, DSP %d, SLRs %d): LUT %.0f%%, '
              'FF %.0f%%, BRAM36 %.0f%%, DSP %.0f%%; one pipeline is %.0f%% of an SLR\'s LUTs, '
              '%.0f%% of its DSPs'
              % (card, n, lim['LUT'], lim['FF'], lim['BRAM36'], lim['DSP'], slrs,
                 100 * n * lut / c_lut, 100 * n * total['FF'] / c_ff,
                 100 * n * total['BRAM36'] / c_bram, 100 * n * total['DSP'] / c_dsp, slr_lut, slr_dsp))


main()
