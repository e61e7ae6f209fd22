"""A flame graph (SVG) from py-spy's collapsed stacks, so a profile can be kept in docs/ and read in
a browser: one box per frame, as wide as the share of samples it was on the stack for, callers
below callees. Self-contained (no Perl FlameGraph, no JavaScript); hover a box for its name and share.

    python -m bench.flamegraph STACKS.txt OUT.svg [--title TEXT] [--min-percent 0.2]
"""

from __future__ import annotations

import argparse
import html
import zlib
from dataclasses import dataclass, field
from pathlib import Path

WIDTH = 1600
ROW = 17
FONT = 11
CHAR = 6.2  # average glyph width of the font at FONT px, to fit labels in boxes


@dataclass
class Node:
    name: str
    count: int = 0
    children: dict[str, Node] = field(default_factory=dict)


def parse(text: str) -> Node:
    """The call tree of `frame;frame;... count` lines."""
    root = Node("all")
    for line in text.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        root.count += count
        node = root
        for frame in stack.split(";"):
            node = node.children.setdefault(frame, Node(frame))
            node.count += count
    return root


def _colour(name: str) -> str:
    # Warm hues, stable per frame name (so two graphs of the same code colour alike).
    h = zlib.crc32(name.encode())
    return f"rgb({205 + h % 50},{80 + (h >> 8) % 120},{40 + (h >> 16) % 50})"


def render(root: Node, title: str, min_percent: float = 0.2) -> str:
    boxes: list[str] = []
    depth_max = 0
    scale = WIDTH / max(1, root.count)

    def walk(node: Node, x: float, depth: int) -> None:
        nonlocal depth_max
        width = node.count * scale
        if 100.0 * node.count / max(1, root.count) < min_percent:
            return
        depth_max = max(depth_max, depth)
        share = 100.0 * node.count / max(1, root.count)
        label = html.escape(f"{node.name} ({share:.1f}%)")
        fits = int(width / CHAR) - 1
        text = html.escape(node.name[:fits]) if fits >= 4 else ""
        boxes.append(
            f'<g><title>{label}</title><rect x="{x:.1f}" y="{{y{depth}}}" '
            f'width="{max(width - 0.5, 0.1):.1f}" height="{ROW - 1}" fill="{_colour(node.name)}"/>'
            f'<text x="{x + 3:.1f}" y="{{t{depth}}}">{text}</text></g>'
        )
        child_x = x
        for child in sorted(node.children.values(), key=lambda c: c.name):
            walk(child, child_x, depth + 1)
            child_x += child.count * scale

    walk(root, 0.0, 0)
    height = (depth_max + 1) * ROW + 40
    rows = {f"y{d}": height - (d + 1) * ROW - 10 for d in range(depth_max + 1)}
    rows |= {f"t{d}": height - (d + 1) * ROW - 10 + ROW - 5 for d in range(depth_max + 1)}
    body = "\n".join(b.format(**rows) for b in boxes)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'font-family="monospace" font-size="{FONT}">\n'
        f'<rect width="100%" height="100%" fill="#fffdf8"/>\n'
        f'<text x="8" y="20" font-size="14">{html.escape(title)} — {root.count:,} samples</text>\n'
        f"{body}\n</svg>\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.flamegraph", description=__doc__.splitlines()[0])
    parser.add_argument("stacks", type=Path, help="py-spy --format raw output (collapsed stacks)")
    parser.add_argument("out", type=Path, help="the SVG to write")
    parser.add_argument("--title", default="")
    parser.add_argument("--min-percent", type=float, default=0.2, help="leave out frames below this share")
    args = parser.parse_args(argv)
    root = parse(args.stacks.read_text())
    args.out.write_text(render(root, args.title or args.stacks.name, args.min_percent))
    print(f"wrote {args.out} ({root.count:,} samples)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
