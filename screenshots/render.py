"""Render a tmux capture (`capture-pane -e -p`: text with SGR colour codes)
to a PNG, cell by cell, with pyte as the terminal emulator and DejaVu Sans
Mono as the font. Usage: render.py capture.ansi out.png COLS ROWS"""
import sys

import pyte
from PIL import Image, ImageDraw, ImageFont

src, out, cols, rows = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
screen = pyte.Screen(cols, rows)
stream = pyte.Stream(screen)
with open(src, encoding="utf-8", errors="replace") as f:
    text = f.read().rstrip("\n")
stream.feed(text.replace("\n", "\r\n"))

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"
BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf"
size = 15
font, bold = ImageFont.truetype(FONT, size), ImageFont.truetype(BOLD, size)
cw = int(font.getlength("M"))
ch = size + 4
BG, FG = (24, 26, 33), (215, 218, 224)
NAMED = {
    "black": (40, 42, 54), "red": (232, 92, 92), "green": (102, 204, 120),
    "brown": (230, 192, 90), "yellow": (230, 192, 90), "blue": (98, 160, 234),
    "magenta": (200, 120, 220), "cyan": (86, 200, 214), "white": (215, 218, 224),
    "brightblack": (110, 115, 130), "brightred": (255, 130, 130),
    "brightgreen": (140, 230, 150), "brightyellow": (255, 220, 120),
    "brightblue": (140, 190, 255), "brightmagenta": (230, 160, 240),
    "brightcyan": (130, 230, 240), "brightwhite": (255, 255, 255),
}


def rgb(c, default):
    if c == "default":
        return default
    if c in NAMED:
        return NAMED[c]
    if len(c) == 6:
        try:
            return tuple(int(c[i:i + 2], 16) for i in (0, 2, 4))
        except ValueError:
            pass
    return default


img = Image.new("RGB", (cols * cw + 16, rows * ch + 16), BG)
d = ImageDraw.Draw(img)
for y in range(rows):
    line = screen.buffer[y]
    for x in range(cols):
        cell = line[x]
        fg, bg = rgb(cell.fg, FG), rgb(cell.bg, BG)
        if cell.reverse:
            fg, bg = (bg if bg != BG else BG), (fg if cell.fg != "default" else FG)
        px, py = 8 + x * cw, 8 + y * ch
        if bg != BG:
            d.rectangle([px, py, px + cw - 1, py + ch - 1], fill=bg)
        if cell.data.strip():
            d.text((px, py + 1), cell.data, font=bold if cell.bold else font, fill=fg)
img.save(out)
