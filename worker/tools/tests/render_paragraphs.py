"""Renders the Tesseract page tests' paragraphs with Debian's Noto fonts (SIL OFL 1.1).

usage: render_paragraphs.py OUT_DIR

Writes OUT_DIR/LANG.png (dark text on white, several lines, right-aligned for right-to-left
scripts) and OUT_DIR/LANG.txt (its lines, in logical order) for each language below.
"""

import os
import sys

from PIL import Image, ImageDraw, ImageFont

NOTO = "/usr/share/fonts/truetype/noto"
CJK = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"

# Language: (font, right to left, lines).
PARAGRAPHS = {
    "ukr": (f"{NOTO}/NotoSans-Regular.ttf", False, [
        "Київ є столицею та найбільшим містом України.",
        "Сьогодні гарна погода для прогулянки парком.",
        "Будь ласка, зачиніть двері за собою.",
        "Потяг прибуває о восьмій годині ранку.",
    ]),
    "ell": (f"{NOTO}/NotoSans-Regular.ttf", False, [
        "Η Αθήνα είναι η πρωτεύουσα της Ελλάδας.",
        "Σήμερα ο καιρός είναι πολύ καλός.",
        "Τα παιδιά παίζουν στον κήπο του σχολείου.",
        "Το τρένο φεύγει στις οκτώ το πρωί.",
    ]),
    "ara": (f"{NOTO}/NotoSansArabic-Regular.ttf", True, [
        "مرحبا بكم في مدينتنا الجميلة",
        "ذهب الولد إلى المدرسة صباحا",
        "الكتاب على الطاولة في الغرفة",
        "يفتح المتجر من الساعة التاسعة",
    ]),
    "heb": (f"{NOTO}/NotoSansHebrew-Regular.ttf", True, [
        "ירושלים היא עיר עתיקה ויפה",
        "היום מזג האוויר נעים מאוד",
        "הספר נמצא על השולחן בחדר",
        "הרכבת יוצאת בשעה שמונה",
    ]),
    "hin": (f"{NOTO}/NotoSansDevanagari-Regular.ttf", False, [
        "भारत एक विशाल देश है।",
        "मैं हर दिन किताब पढ़ता हूँ।",
        "बच्चे बगीचे में खेल रहे हैं।",
        "यह रेलगाड़ी दिल्ली जाती है।",
    ]),
    "tha": (f"{NOTO}/NotoSansThai-Regular.ttf", False, [
        "กรุงเทพมหานครเป็นเมืองหลวงของประเทศไทย",
        "วันนี้อากาศดีมาก",
        "ฉันอ่านหนังสือทุกวัน",
        "รถไฟออกเวลาแปดโมงเช้า",
    ]),
    "kor": (CJK, False, [
        "대한민국의 수도는 서울입니다.",
        "오늘은 날씨가 아주 좋습니다.",
        "저는 매일 아침 책을 읽습니다.",
        "기차는 여덟 시에 출발합니다.",
    ]),
}

FONT_SIZE = 30
LINE_PITCH = 54
MARGIN = 50


def render(font_path, right_to_left, lines):
    font = ImageFont.truetype(font_path, FONT_SIZE)
    widths = [font.getlength(line) for line in lines]
    width = int(max(widths)) + 2 * MARGIN
    image = Image.new("RGB", (width, LINE_PITCH * len(lines) + 2 * MARGIN), "white")
    draw = ImageDraw.Draw(image)
    for index, (line, line_width) in enumerate(zip(lines, widths)):
        x = width - MARGIN - line_width if right_to_left else MARGIN
        draw.text((x, MARGIN + index * LINE_PITCH), line, font=font, fill="black")
    return image


def main():
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    for language, (font_path, right_to_left, lines) in PARAGRAPHS.items():
        render(font_path, right_to_left, lines).save(os.path.join(out_dir, f"{language}.png"))
        with open(os.path.join(out_dir, f"{language}.txt"), "w", encoding="utf-8") as file:
            file.write("\n".join(lines) + "\n")
        print(language)


main()
