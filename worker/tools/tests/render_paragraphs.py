"""Renders the Tesseract page tests' paragraphs with Debian's Noto fonts (SIL OFL 1.1).

usage: render_paragraphs.py OUT_DIR

Writes OUT_DIR/LANG.png (dark text on white, several lines, right-aligned for right-to-left
scripts) and OUT_DIR/LANG.txt (its lines, in logical order) for each language below. PIL must
shape the text with libraqm (HarfBuzz, FriBiDi): without it Indic conjuncts and vowel signs, Thai
marks and Arabic joining come out wrong.
"""

import os
import sys

from PIL import Image, ImageDraw, ImageFont, features

NOTO = "/usr/share/fonts/truetype/noto"
CJK = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
# For the characters a script's font has no glyph for, as a browser falls back to another font:
# Noto's Georgian fonts have no full stop, and drew it as the missing-glyph box.
FALLBACK = f"{NOTO}/NotoSans-Regular.ttf"

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
    "vie": (f"{NOTO}/NotoSans-Regular.ttf", False, [
        "Hà Nội là thủ đô của nước Việt Nam.",
        "Hôm nay thời tiết rất đẹp.",
        "Tôi đọc sách mỗi ngày trước khi đi ngủ.",
        "Tàu hỏa khởi hành lúc tám giờ sáng.",
    ]),
    "ben": (f"{NOTO}/NotoSansBengali-Regular.ttf", False, [
        "ঢাকা বাংলাদেশের রাজধানী।",
        "আজ আবহাওয়া খুব ভালো।",
        "শিশুরা বাগানে খেলছে।",
        "ট্রেন সকাল আটটায় ছাড়ে।",
    ]),
    "tam": (f"{NOTO}/NotoSansTamil-Regular.ttf", False, [
        "சென்னை தமிழ்நாட்டின் தலைநகரம்.",
        "இன்று வானிலை மிகவும் நன்றாக உள்ளது.",
        "குழந்தைகள் தோட்டத்தில் விளையாடுகிறார்கள்.",
        "ரயில் காலை எட்டு மணிக்குப் புறப்படும்.",
    ]),
    "kat": (f"{NOTO}/NotoSansGeorgian-Regular.ttf", False, [
        "თბილისი საქართველოს დედაქალაქია.",
        "დღეს ამინდი ძალიან კარგია.",
        "ბავშვები ბაღში თამაშობენ.",
        "მატარებელი დილის რვა საათზე გადის.",
    ]),
    "hye": (f"{NOTO}/NotoSansArmenian-Regular.ttf", False, [
        "Երևանը Հայաստանի մայրաքաղաքն է։",
        "Այսօր եղանակը շատ լավ է։",
        "Երեխաները խաղում են այգում։",
        "Գնացքը մեկնում է առավոտյան ժամը ութին։",
    ]),
    "tel": (f"{NOTO}/NotoSansTelugu-Regular.ttf", False, [
        "హైదరాబాద్ తెలంగాణ రాష్ట్ర రాజధాని.",
        "ఈ రోజు వాతావరణం చాలా బాగుంది.",
        "పిల్లలు తోటలో ఆడుకుంటున్నారు.",
        "రైలు ఉదయం ఎనిమిది గంటలకు బయలుదేరుతుంది.",
    ]),
    "amh": (f"{NOTO}/NotoSansEthiopic-Regular.ttf", False, [
        "አዲስ አበባ የኢትዮጵያ ዋና ከተማ ናት።",
        "ዛሬ የአየሩ ሁኔታ በጣም ጥሩ ነው።",
        "ልጆቹ በአትክልቱ ውስጥ ይጫወታሉ።",
        "ባቡሩ ጠዋት በሁለት ሰዓት ይነሳል።",
    ]),
}

FONT_SIZE = 30
LINE_PITCH = 54
MARGIN = 50


def glyph(font, text):
    mask = font.getmask(text)
    return mask.size, bytes(mask)


def runs(font, fallback, line):
    """The line cut into [font, text] runs: the script's font, or the fallback for the characters
    the script's font would draw as its missing-glyph box."""
    missing = glyph(font, "\uffff")
    cut = []
    for char in line:
        char_font = font if char.isspace() or glyph(font, char) != missing else fallback
        if cut and cut[-1][0] is char_font:
            cut[-1][1] += char
        else:
            cut.append([char_font, char])
    return cut


def render(font_path, right_to_left, lines):
    font = ImageFont.truetype(font_path, FONT_SIZE)
    fallback = ImageFont.truetype(FALLBACK, FONT_SIZE)
    cuts = [runs(font, fallback, line) for line in lines]
    assert not right_to_left or all(len(cut) == 1 for cut in cuts), "runs are laid out left to right"
    widths = [sum(run_font.getlength(text) for run_font, text in cut) for cut in cuts]
    width = int(max(widths)) + 2 * MARGIN
    image = Image.new("RGB", (width, LINE_PITCH * len(lines) + 2 * MARGIN), "white")
    draw = ImageDraw.Draw(image)
    ascent = font.getmetrics()[0]
    for index, (cut, line_width) in enumerate(zip(cuts, widths)):
        x = width - MARGIN - line_width if right_to_left else MARGIN
        baseline = MARGIN + index * LINE_PITCH + ascent
        for run_font, text in cut:
            draw.text((x, baseline), text, font=run_font, fill="black", anchor="ls")
            x += run_font.getlength(text)
    return image


def main():
    assert features.check("raqm"), "PIL has no libraqm to shape complex scripts with"
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    for language, (font_path, right_to_left, lines) in PARAGRAPHS.items():
        render(font_path, right_to_left, lines).save(os.path.join(out_dir, f"{language}.png"))
        with open(os.path.join(out_dir, f"{language}.txt"), "w", encoding="utf-8") as file:
            file.write("\n".join(lines) + "\n")
        print(language)


main()
