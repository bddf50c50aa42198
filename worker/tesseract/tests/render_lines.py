"""Renders the Tesseract tests' text lines as grey PNGs with Debian's Noto fonts (SIL OFL 1.1).

usage: render_lines.py OUT_DIR LANG HEIGHT

Writes OUT_DIR/NN.png (dark text on white, HEIGHT pixels high, 4+ pixels of margin around the ink
as Tesseract pads words) and OUT_DIR/NN.txt (the text) for each of LANG's lines.
"""

import os
import sys

from PIL import Image, ImageDraw, ImageFont

NOTO = "/usr/share/fonts/truetype/noto"
FONTS = {
    "latin": f"{NOTO}/NotoSans-Regular.ttf",
    "arabic": f"{NOTO}/NotoSansArabic-Regular.ttf",
    "devanagari": f"{NOTO}/NotoSansDevanagari-Regular.ttf",
    "hebrew": f"{NOTO}/NotoSansHebrew-Regular.ttf",
    "thai": f"{NOTO}/NotoSansThai-Regular.ttf",
    "korean": "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
}

LINES = {
    "eng": ("latin", [
        "The quick brown fox jumps over the lazy dog.",
        "Invoice 2041 was paid on 12 March 2024.",
        "Please keep this receipt for your records.",
        "Open from 9:30 to 17:00, closed on Sundays.",
        "A small village lies beyond the river bend.",
        "Total due: $148.25 including tax",
    ]),
    "ukr": ("latin", [
        "Київ є столицею та найбільшим містом України.",
        "Сьогодні гарна погода для прогулянки.",
        "Будь ласка, зачиніть двері за собою.",
        "Потяг прибуває о восьмій годині ранку.",
        "Ми вивчаємо нові слова щодня.",
        "Магазин відкритий до дев'ятої вечора.",
    ]),
    "ara": ("arabic", [
        "مرحبا بكم في مدينتنا الجميلة",
        "ذهب الولد إلى المدرسة صباحا",
        "الكتاب على الطاولة في الغرفة",
        "نحن نحب القراءة والكتابة",
        "يفتح المتجر من الساعة التاسعة",
        "السماء صافية اليوم",
    ]),
    "hin": ("devanagari", [
        "भारत एक विशाल देश है।",
        "मैं हर दिन किताब पढ़ता हूँ।",
        "आज मौसम बहुत अच्छा है।",
        "बच्चे बगीचे में खेल रहे हैं।",
        "कृपया दरवाज़ा बंद कर दीजिए।",
        "यह रेलगाड़ी दिल्ली जाती है।",
        # hin's config blacklists the digit 1, so both readers must pass over it.
        "कमरा नंबर 1 और 12 में",
    ]),
    "ell": ("latin", [
        "Η Αθήνα είναι η πρωτεύουσα της Ελλάδας.",
        "Σήμερα ο καιρός είναι πολύ καλός.",
        "Το βιβλίο είναι πάνω στο τραπέζι.",
        "Τα παιδιά παίζουν στον κήπο.",
        "Παρακαλώ κλείστε την πόρτα.",
        "Το τρένο φεύγει στις οκτώ το πρωί.",
    ]),
    "kor": ("korean", [
        "대한민국의 수도는 서울입니다.",
        "오늘은 날씨가 아주 좋습니다.",
        "저는 매일 아침 책을 읽습니다.",
        "아이들이 공원에서 놀고 있습니다.",
        "문을 닫아 주세요.",
        "기차는 여덟 시에 출발합니다.",
    ]),
    "heb": ("hebrew", [
        "ירושלים היא עיר עתיקה ויפה",
        "היום מזג האוויר נעים מאוד",
        "הספר נמצא על השולחן בחדר",
        "הילדים משחקים בגן הציבורי",
        "אנא סגרו את הדלת אחריכם",
        "הרכבת יוצאת בשעה שמונה",
    ]),
    "tha": ("thai", [
        "กรุงเทพมหานครเป็นเมืองหลวงของประเทศไทย",
        "วันนี้อากาศดีมาก",
        "เด็กๆ กำลังเล่นอยู่ในสวน",
        "กรุณาปิดประตูด้วย",
        "ฉันอ่านหนังสือทุกวัน",
        "รถไฟออกเวลาแปดโมงเช้า",
    ]),
}

MARGIN = 6


def render(text, font_path, height):
    # The largest size whose ink, with the margin above and below, fits the height.
    size = height
    while True:
        font = ImageFont.truetype(font_path, size)
        left, top, right, bottom = font.getbbox(text)
        if bottom - top + 2 * MARGIN <= height or size <= 8:
            break
        size -= 1
    width = right - left + 2 * MARGIN
    image = Image.new("L", (width, height), 255)
    y = (height - (bottom - top)) // 2 - top
    ImageDraw.Draw(image).text((MARGIN - left, y), text, font=font, fill=0)
    return image


def main():
    out_dir, language, height = sys.argv[1], sys.argv[2], int(sys.argv[3])
    script, lines = LINES[language]
    os.makedirs(out_dir, exist_ok=True)
    for index, text in enumerate(lines):
        render(text, FONTS[script], height).save(os.path.join(out_dir, f"{index:02}.png"))
        with open(os.path.join(out_dir, f"{index:02}.txt"), "w", encoding="utf-8") as file:
            file.write(text + "\n")


main()
