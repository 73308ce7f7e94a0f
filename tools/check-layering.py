#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Check the include layering of lib/ (docs/design.md, "Layering").

Usage: check-layering.py [--dot] [LIB_DIR]

LIB_DIR defaults to ../lib relative to this script.  Every `#include "..."`
of lib/**/*.c and lib/**/*.h is read; a file may include the public headers
(PUBLIC below), files of its own folder and files of folders below its own
in ORDER.  An include of a folder above, or of a folder not in ORDER, is a
violation; so is an include circle between files of lib/ (the graph's nodes
are folder/stem, foo.c and foo.h of one folder being one node).

Prints one line per violation and exits 1, or a one-line summary and exits
0.  With --dot, prints the folder graph in Graphviz form instead (upward
edges in red) and exits 0.
"""

import os
import re
import sys

# The folders of lib/, lowest first.  The one place to change the order.
ORDER = ['core', 'layers', 'optim', 'config', 'code', 'model', 'loss',
         'sparsity', 'train', 'io']

# The public headers (include/), allowed anywhere.
PUBLIC = {'sae.h', 'sae-version.h'}

INCLUDE_RE = re.compile(r'^\s*#\s*include\s*"([^"]+)"')
BLOCK_COMMENT_RE = re.compile(r'/\*.*?\*/', re.S)


def order_text():
    return '(' + ' < '.join(ORDER) + ')'


def strip_block_comments(text):
    """Blank out /* ... */ comments, keeping the line numbers."""
    return BLOCK_COMMENT_RE.sub(lambda m: '\n' * m.group(0).count('\n'), text)


def node_of(relpath):
    """lib-relative path -> graph node: 'folder/stem' (foo.c, foo.h one node)."""
    return os.path.splitext(relpath)[0]


def source_files(lib_dir):
    out = []
    for root, dirs, files in os.walk(lib_dir):
        dirs.sort()
        for name in sorted(files):
            if name.endswith(('.c', '.h')):
                path = os.path.join(root, name)
                out.append(os.path.relpath(path, lib_dir).replace(os.sep, '/'))
    return out


def read_includes(path):
    with open(path, encoding='utf-8', errors='replace') as f:
        text = strip_block_comments(f.read())
    for lineno, line in enumerate(text.split('\n'), 1):
        m = INCLUDE_RE.match(line)
        if m:
            yield lineno, m.group(1)


def strongly_connected(graph):
    """Tarjan's algorithm, iterative; yields each component (a list)."""
    index = {}
    low = {}
    stack = []
    on_stack = set()
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            v, children = work[-1]
            advanced = False
            for w in children:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph.get(w, ())))))
                    advanced = True
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                u = work[-1][0]
                low[u] = min(low[u], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                yield comp


def cycle_in(graph, comp):
    """A shortest cycle through the component's smallest node (BFS)."""
    members = set(comp)
    start = min(comp)
    parent = {start: None}
    queue = [start]
    for v in queue:
        for w in sorted(graph.get(v, ())):
            if w == start:
                path = [v]
                while parent[path[-1]] is not None:
                    path.append(parent[path[-1]])
                path.reverse()
                return path + [start]
            if w in members and w not in parent:
                parent[w] = v
                queue.append(w)
    return None  # not reached for a component of two or more nodes


def main(argv):
    dot = False
    args = []
    for a in argv[1:]:
        if a == '--dot':
            dot = True
        elif a in ('-h', '--help'):
            print(__doc__.strip())
            return 0
        elif a.startswith('-'):
            print('check-layering: unknown option %s' % a, file=sys.stderr)
            return 2
        else:
            args.append(a)
    if len(args) > 1:
        print('usage: check-layering.py [--dot] [LIB_DIR]', file=sys.stderr)
        return 2
    here = os.path.dirname(os.path.abspath(__file__))
    lib_dir = args[0] if args else os.path.join(here, '..', 'lib')
    if not os.path.isdir(lib_dir):
        print('check-layering: %s is not a directory' % lib_dir, file=sys.stderr)
        return 2
    shown = os.path.basename(os.path.normpath(os.path.abspath(lib_dir)))
    rank = {f: i for i, f in enumerate(ORDER)}

    violations = []
    upward = unknown = 0
    n_includes = 0
    folders = set()
    graph = {}
    folder_edges = {}
    files = source_files(lib_dir)
    for rel in files:
        where = '%s/%s' % (shown, rel)
        src_folder = rel.split('/')[0] if '/' in rel else None
        if src_folder not in rank:
            violations.append('%s:1: file in unknown folder %s %s' % (
                where, src_folder or '(lib/ itself)', order_text()))
            unknown += 1
        folders.add(src_folder)
        src_node = node_of(rel)
        graph.setdefault(src_node, set())
        for lineno, inc in read_includes(os.path.join(lib_dir, rel)):
            n_includes += 1
            if inc in PUBLIC:
                continue
            if '/' in inc:
                dst_folder = inc.split('/')[0]
                dst_rel = inc
            else:
                # A bare name: the compiler looks in the including file's
                # folder first.
                dst_folder = src_folder
                dst_rel = '%s/%s' % (src_folder, inc) if src_folder else inc
                if not os.path.isfile(os.path.join(lib_dir, dst_rel)):
                    violations.append('%s:%d: includes %s, not a public header '
                                      'nor a file of lib/' % (where, lineno, inc))
                    unknown += 1
                    continue
            if dst_folder not in rank:
                violations.append('%s:%d: includes %s, unknown folder %s %s' % (
                    where, lineno, inc, dst_folder, order_text()))
                unknown += 1
                continue
            if src_folder in rank:
                key = (src_folder, dst_folder)
                folder_edges[key] = folder_edges.get(key, 0) + 1
                if rank[dst_folder] > rank[src_folder]:
                    violations.append('%s:%d: includes %s, above %s %s' % (
                        where, lineno, inc, src_folder, order_text()))
                    upward += 1
            dst_node = node_of(os.path.normpath(dst_rel).replace(os.sep, '/'))
            if dst_node != src_node:
                graph[src_node].add(dst_node)

    circles = 0
    for comp in sorted(sorted(c) for c in strongly_connected(graph)):
        if len(comp) < 2:
            continue
        cycle = cycle_in(graph, comp)
        text = ' -> '.join(cycle)
        if len(comp) > len(cycle) - 1:
            text += '  (component: %s)' % ', '.join(comp)
        violations.append('circle: ' + text)
        circles += 1

    if dot:
        print('digraph layering {')
        print('  rankdir=BT;')
        for f in ORDER:
            print('  "%s";' % f)
        for (a, b), n in sorted(folder_edges.items(),
                                key=lambda e: (rank[e[0][0]], rank[e[0][1]])):
            if a == b:
                continue
            colour = ' color=red' if rank[b] > rank[a] else ''
            print('  "%s" -> "%s" [label=%d%s];' % (a, b, n, colour))
        print('}')
        return 0

    if violations:
        for v in violations:
            print(v)
        print('layering: %d violations (%d upward, %d unknown, %d circles)' % (
            len(violations), upward, unknown, circles), file=sys.stderr)
        return 1
    print('layering: %d files, %d includes, %d folders, no upward include, '
          'no circle' % (len(files), n_includes, len(folders)))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
