#!/usr/bin/env python3
"""synth-prep.py - rewrite rtl/*.sv for Yosys' SystemVerilog front end.

Yosys (0.23, Debian) reads packages but neither `import pkg::*` nor
unpacked array ports. This script writes a copy of each source with
  * `import snn_pkg::*;` removed and every package name qualified
    (`AddrW` -> `snn_pkg::AddrW`),
and leaves everything else untouched. Usage:
  synth-prep.py OUTDIR rtl/snn_pkg.sv rtl/....sv   (prints the output paths)
"""
import re
import sys


def pkg_names(text):
    names = set()
    for m in re.finditer(r'\blocalparam\s+(?:[\w:]+\s+)*(?:\[[^\]]*\]\s*)?(\w+)\s*=', text):
        names.add(m.group(1))
    for m in re.finditer(r'\}\s*(\w+)\s*;', text):      # typedef struct ... } name;
        names.add(m.group(1))
    for m in re.finditer(r'\bfunction\s+automatic\s+(?:[\w:]+\s+)*(?:\[[^\]]*\]\s*)?(\w+)\s*\(', text):
        names.add(m.group(1))
    return names


def main():
    out = sys.argv[1]
    files = sys.argv[2:]
    pkg = next(f for f in files if f.endswith('snn_pkg.sv'))
    names = pkg_names(open(pkg).read())
    word = re.compile(r'(?<![\w:.$\'])(' + '|'.join(sorted(names, key=len, reverse=True)) + r')\b')
    for f in files:
        text = open(f).read()
        if f != pkg:
            text = re.sub(r'^\s*import\s+snn_pkg::\*;\s*\n', '', text, flags=re.M)
            lines = []
            for line in text.split('\n'):
                code, sep, comment = line.partition('//')
                lines.append(word.sub(r'snn_pkg::\1', code) + sep + comment)
            text = '\n'.join(lines)
        dst = out + '/' + f.split('/')[-1]
        open(dst, 'w').write(text)
        print(dst)


main()
