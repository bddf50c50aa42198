"""Tesseract's per-timestep output choices for one line, from its hOCR with lstm_choice_mode=1.

usage: tesseract_choices.py LINE.png LANG TESSDATA_DIR OUT_DIR

Prints one line per network timestep: the top choice's text and its probability in whole percent,
tab-separated, or nothing where Tesseract lists no choice.
"""

import html
import os
import re
import subprocess
import sys


def main():
    image, language, tessdata, out_dir = sys.argv[1:5]
    base = os.path.join(out_dir, os.path.splitext(os.path.basename(image))[0])
    subprocess.run(
        ["tesseract", image, base, "--psm", "13", "--oem", "1", "-l", language, "--tessdata-dir", tessdata,
         "-c", "lstm_choice_mode=1", "-c", "tessedit_create_hocr=1"],
        check=True, capture_output=True)
    with open(base + ".hocr", encoding="utf-8") as file:
        hocr = file.read()
    for timestep in re.finditer(r"<span class='ocrx_cinfo' id='timestep[^']*'>(.*?)</span></span>", hocr, re.S):
        choices = re.findall(r"x_confs (\d+)'>([^<]*)<", timestep.group(1))
        if choices:
            percent, text = choices[0]
            print(f"{html.unescape(text)}\t{percent}")
        else:
            print()


main()
