"""Scales a grey PNG to a height as Tesseract does, with Debian's leptonica (liblept.so.5) itself.

usage: leptonica_scale.py IN.png OUT.png HEIGHT

Tesseract's ImageData::PreScale computes the factor as float(HEIGHT) / float(height) and calls
pixScale(pix, factor, factor); this does exactly that through ctypes.
"""

import ctypes
import sys

IFF_PNG = 3

lept = ctypes.CDLL("liblept.so.5")
lept.pixRead.restype = ctypes.c_void_p
lept.pixRead.argtypes = [ctypes.c_char_p]
lept.pixGetHeight.argtypes = [ctypes.c_void_p]
lept.pixScale.restype = ctypes.c_void_p
lept.pixScale.argtypes = [ctypes.c_void_p, ctypes.c_float, ctypes.c_float]
lept.pixWrite.argtypes = [ctypes.c_char_p, ctypes.c_void_p, ctypes.c_int]


def main():
    source, target, height = sys.argv[1], sys.argv[2], int(sys.argv[3])
    pix = lept.pixRead(source.encode())
    if not pix:
        sys.exit(f"leptonica cannot read {source}")
    factor = ctypes.c_float(ctypes.c_float(height).value / ctypes.c_float(lept.pixGetHeight(pix)).value).value
    scaled = lept.pixScale(pix, factor, factor)
    if not scaled or lept.pixWrite(target.encode(), scaled, IFF_PNG) != 0:
        sys.exit(f"leptonica could not scale {source}")


main()
