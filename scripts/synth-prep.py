#!/usr/bin/env python3
"""synth-prep.py - rewrite rtl/*.sv for Yosys' SystemVerilog front end.

Yosys (0.23, Debian) reads packages but neither `import pkg::*` nor
unpacked array ports, nor casts to a keyword type. This script writes a copy
of each source with
  * `import snn_pkg::*;` removed and every package name qualified
    (`AddrW` -> `snn_pkg::AddrW`), when snn_pkg.sv is among the files;
  * `int'(x)` written as `$signed(32'(x))` and `signed'(x)` as `$signed(x)`
    (the same value, width and signedness; a file with such casts loses its
    line comments, its line numbers stay);
  * a copy of a whole unpacked array (`a_d = a_q;`, `a_q <= a_d;`) written
    as a loop over its elements;
  * a one-line function that selects a part of a vector argument
    (`f = p[..];`) inlined where it is called with a vector of the same
    declared range (Yosys copies the whole vector per call: the conv
    engine's 288 calls of `entry` on its patch took it most of an hour),
and leaves everything else untouched. Usage:
  synth-prep.py OUTDIR rtl/....sv   (prints the output paths)
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


def closing(text, i):
    """Index of the parenthesis closing the one at text[i]."""
    depth = 0
    for j in range(i, len(text)):
        if text[j] == '(':
            depth += 1
        elif text[j] == ')':
            depth -= 1
            if depth == 0:
                return j
    raise ValueError('unbalanced parentheses')


def casts(text):
    """int'(x) -> $signed(32'(x)), signed'(x) -> $signed(x)."""
    cast = re.compile(r"(?<![\w$'])(int|signed)'\(")
    out, pos = [], 0
    while True:
        m = cast.search(text, pos)
        if not m:
            out.append(text[pos:])
            return ''.join(out)
        p = m.end() - 1                      # the opening parenthesis
        q = closing(text, p)
        inner = casts(text[p + 1:q])
        out.append(text[pos:m.start()])
        if m.group(1) == 'int':
            out.append("$signed(32'(" + inner + "))")
        else:
            out.append('$signed(' + inner + ')')
        pos = q + 1


def strip_comments(text):
    """Line comments removed (a cast's parentheses may span lines)."""
    return '\n'.join(line.partition('//')[0] for line in text.split('\n'))


def unpacked_arrays(text):
    """name -> list of unpacked dimension sizes, from `logic ... name [D]...;`."""
    arrays = {}
    for m in re.finditer(r'^\s*logic\b([^;]*);', text, flags=re.M):
        decl = re.sub(r'^\s*(?:signed\s+|unsigned\s+)?(?:\[[^\]]*\]\s*)*', '', m.group(1))
        for d in decl.split(','):
            dm = re.match(r'\s*(\w+)\s*((?:\[[^\]]*\]\s*)+)$', d)
            if dm:
                dims = re.findall(r'\[([^\]]*)\]', dm.group(2))
                if all(':' not in x for x in dims):
                    arrays[dm.group(1)] = dims
    return arrays


def array_copies(text):
    arrays = unpacked_arrays(text)

    def loop(m):
        ind, lhs, op, rhs = m.groups()
        if lhs not in arrays or rhs not in arrays:
            return m.group(0)
        dims = arrays[lhs]
        head = ' '.join('for (int yp%d = 0; yp%d < %s; yp%d++)' % (k, k, d, k)
                        for k, d in enumerate(dims))
        ix = ''.join('[yp%d]' % k for k in range(len(dims)))
        return '%s%s %s%s %s %s%s;' % (ind, head, lhs, ix, op, rhs, ix)

    return re.sub(r'^(\s*)(\w+)\s*(<=|=)\s*(\w+)\s*;', loop, text, flags=re.M)


def inline_selects(text):
    fm = re.compile(r'function\s+automatic\s+[^;]*?\b(\w+)\s*\(\s*input\s+logic\s*(\[[^\]]*\])\s*(\w+)\s*,'
                    r'\s*input\s+int\s+unsigned\s+(\w+)\s*\)\s*;\s*\1\s*=\s*\3\s*(\[[^;]*\])\s*;\s*endfunction')
    for m in list(fm.finditer(text)):
        name, rng, vec, idx, sel = m.groups()

        def call(c):
            actual, arg = c.group(1), c.group(2)
            decl = re.search(r'\b(?:wire|logic)\s*(?:\w+\s+)?' + re.escape(rng) + r'\s*' + actual + r'\b', text)
            if not decl:
                return c.group(0)
            body = re.sub(r'\b%s\b' % idx, '(' + arg + ')', sel)
            return actual + body

        head, tail = text[:m.end()], text[m.end():]
        tail = re.sub(r'\b%s\(\s*(\w+)\s*,\s*(\w+)\s*\)' % name, call, tail)
        text = head + tail
    return text


def main():
    out = sys.argv[1]
    files = sys.argv[2:]
    pkg = next((f for f in files if f.endswith('snn_pkg.sv')), None)
    word = None
    if pkg is not None:
        names = pkg_names(open(pkg).read())
        word = re.compile(r'(?<![\w:.$\'])(' + '|'.join(sorted(names, key=len, reverse=True)) + r')\b')
    for f in files:
        text = open(f).read()
        if word is not None and f != pkg:
            text = re.sub(r'^\s*import\s+snn_pkg::\*;\s*\n', '', text, flags=re.M)
            lines = []
            for line in text.split('\n'):
                code, sep, comment = line.partition('//')
                lines.append(word.sub(r'snn_pkg::\1', code) + sep + comment)
            text = '\n'.join(lines)
        if re.search(r"(?<![\w$'])(int|signed)'\(", strip_comments(text)):
            text = casts(strip_comments(text))
        text = array_copies(text)
        text = inline_selects(text)
        dst = out + '/' + f.split('/')[-1]
        open(dst, 'w').write(text)
        print(dst)


main()
