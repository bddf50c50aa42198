"""Renders one short line in each language's script, for the test that every model reads a line.

usage: render_samples.py OUT_DIR HEIGHT LANG...

Writes OUT_DIR/LANG.png (dark text on white, HEIGHT pixels high) per language with Debian's Noto
fonts (SIL OFL 1.1), and prints `LANG<TAB>SCRIPT` for each. A language whose script has no font
here gets the Latin line and the script `none`: its model must still run, though it may read
nothing. A language missing from LANGUAGE_SCRIPTS is an error: say which script it is written in. The line is the script's, not the language's own: the test asks that the model runs and
reads something, not that it reads well (render_lines.py's lines are for that).
"""

import os
import sys

from PIL import Image, ImageDraw, ImageFont

NOTO = "/usr/share/fonts/truetype/noto"
CJK = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"

# Script: (font, a short line in one of its languages).
SCRIPTS = {
    "latin": ("NotoSans-Regular.ttf", "The river runs past 12 old mills."),
    "cyrillic": ("NotoSans-Regular.ttf", "Сегодня хорошая погода"),
    "greek": ("NotoSans-Regular.ttf", "Σήμερα ο καιρός είναι καλός"),
    "arabic": ("NotoSansArabic-Regular.ttf", "ذهب الولد إلى المدرسة"),
    "hebrew": ("NotoSansHebrew-Regular.ttf", "הספר נמצא על השולחן"),
    "devanagari": ("NotoSansDevanagari-Regular.ttf", "भारत एक विशाल देश है"),
    "bengali": ("NotoSansBengali-Regular.ttf", "আমার সোনার বাংলা"),
    "gurmukhi": ("NotoSansGurmukhi-Regular.ttf", "ਪੰਜਾਬੀ ਭਾਸ਼ਾ ਬੋਲੀ"),
    "gujarati": ("NotoSansGujarati-Regular.ttf", "ગુજરાતી ભાષા"),
    "oriya": ("NotoSansOriya-Regular.ttf", "ଓଡ଼ିଆ ଭାଷା"),
    "tamil": ("NotoSansTamil-Regular.ttf", "தமிழ் மொழி"),
    "telugu": ("NotoSansTelugu-Regular.ttf", "తెలుగు భాష"),
    "kannada": ("NotoSansKannada-Regular.ttf", "ಕನ್ನಡ ಭಾಷೆ"),
    "malayalam": ("NotoSansMalayalam-Regular.ttf", "മലയാളം ഭാഷ"),
    "sinhala": ("NotoSansSinhala-Regular.ttf", "සිංහල භාෂාව"),
    "thai": ("NotoSansThai-Regular.ttf", "วันนี้อากาศดีมาก"),
    "lao": ("NotoSansLao-Regular.ttf", "ພາສາລາວ"),
    "myanmar": ("NotoSansMyanmar-Regular.ttf", "မြန်မာဘာသာ"),
    "tibetan": ("NotoSerifTibetan-Regular.ttf", "བོད་ཀྱི་སྐད་ཡིག"),
    "ethiopic": ("NotoSansEthiopic-Regular.ttf", "አማርኛ ቋንቋ"),
    "georgian": ("NotoSansGeorgian-Regular.ttf", "ქართული ენა"),
    "armenian": ("NotoSansArmenian-Regular.ttf", "Հայերեն լեզու"),
    "thaana": ("NotoSansThaana-Regular.ttf", "ދިވެހި ބަސް"),
    "khmer": ("NotoSansKhmer-Regular.ttf", "ភាសាខ្មែរ"),
    "cherokee": ("NotoSansCherokee-Regular.ttf", "ᏣᎳᎩ ᎦᏬᏂᎯᏍᏗ"),
    "syriac": ("NotoSansSyriac-Regular.ttf", "ܠܫܢܐ ܣܘܪܝܝܐ"),
    "canadian-syllabics": ("NotoSansCanadianAboriginal-Regular.ttf", "ᐃᓄᒃᑎᑐᑦ ᑎᑎᕋᐅᓯᖅ"),
    "hangul": (CJK, "대한민국의 수도는 서울입니다"),
    "japanese": (CJK, "日本語の文章です"),
    "han-simplified": (CJK, "中华人民共和国"),
    "han-traditional": (CJK, "中華民國的首都"),
}

LATIN = (
    "afr aze bos bre cat ceb ces cos cym dan deu eng enm epo est eus fao fil fin fra frk fry gla gle "
    "glg hat hrv hun ind isl ita jav kmr lat lav lit ltz mlt mri msa nld nor oci pol por que ron slk "
    "slv spa sqi sun swa swe ton tur uzb vie yor"
)
LANGUAGE_SCRIPTS = {
    **{language: "latin" for language in LATIN.split()},
    **{language: "cyrillic" for language in "bel bul kaz kir mkd mon rus srp tat tgk ukr uzb_cyrl".split()},
    **{language: "arabic" for language in "ara fas pus snd uig urd".split()},
    **{language: "hebrew" for language in "heb yid".split()},
    **{language: "devanagari" for language in "hin mar nep san".split()},
    **{language: "bengali" for language in "ben asm".split()},
    **{language: "ethiopic" for language in "amh tir".split()},
    **{language: "japanese" for language in "jpn jpn_vert".split()},
    **{language: "han-traditional" for language in "chi_tra chi_tra_vert".split()},
    "chi_sim": "han-simplified",
    "ell": "greek",
    "grc": "greek",
    "khm": "khmer",
    "chr": "cherokee",
    "syr": "syriac",
    "iku": "canadian-syllabics",
    "dzo": "tibetan",
    "pan": "gurmukhi",
    "guj": "gujarati",
    "ori": "oriya",
    "tam": "tamil",
    "tel": "telugu",
    "kan": "kannada",
    "mal": "malayalam",
    "sin": "sinhala",
    "tha": "thai",
    "lao": "lao",
    "mya": "myanmar",
    "bod": "tibetan",
    "kat": "georgian",
    "hye": "armenian",
    "div": "thaana",
    "kor": "hangul",
}

MARGIN = 6


def font_path(name):
    return name if name.startswith("/") else f"{NOTO}/{name}"


def fitting_font(path, text, height):
    """The largest size whose ink, with the margin above and below, fits the height."""
    for size in range(height, 7, -1):
        font = ImageFont.truetype(path, size)
        left, top, right, bottom = font.getbbox(text)
        if bottom - top + 2 * MARGIN <= height:
            break
    return font


def horizontal(text, path, height):
    font = fitting_font(path, text, height)
    left, top, right, bottom = font.getbbox(text)
    image = Image.new("L", (right - left + 2 * MARGIN, height), 255)
    y = (height - (bottom - top)) // 2 - top
    ImageDraw.Draw(image).text((MARGIN - left, y), text, font=font, fill=0)
    return image


def vertical(text, path, height):
    """A vertical column as Tesseract hands it to a `_vert` model: turned a quarter anticlockwise,
    so the column's top is the line's left and each character lies on its side."""
    font = fitting_font(path, "国", height)
    cell = height - 2 * MARGIN
    column = Image.new("L", (height, cell * len(text) + 2 * MARGIN), 255)
    draw = ImageDraw.Draw(column)
    for index, character in enumerate(text):
        draw.text((MARGIN, MARGIN + index * cell), character, font=font, fill=0)
    return column.rotate(90, expand=True, fillcolor=255)


def main():
    out_dir, height, languages = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    os.makedirs(out_dir, exist_ok=True)
    for language in languages:
        script = LANGUAGE_SCRIPTS.get(language)
        if script is None:
            sys.exit(f"render_samples.py: add {language}'s script to LANGUAGE_SCRIPTS")
        font, text = SCRIPTS[script]
        if not os.path.exists(font_path(font)):
            script, (font, text) = "none", SCRIPTS["latin"]
        draw = vertical if language.endswith("_vert") else horizontal
        draw(text, font_path(font), height).save(os.path.join(out_dir, f"{language}.png"))
        print(f"{language}\t{script}")


main()
