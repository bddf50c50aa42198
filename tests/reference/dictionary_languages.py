"""Which languages and scripts an OCR recogniser's dictionary can write, read from the dictionary
itself: a Latin-script language counts when every letter of its alphabet (both cases) is a class.
Prints a Markdown line per dictionary for the README.

    python tests/reference/dictionary_languages.py $LANTERN_CACHE/models/ppocrv6-dict.txt ...
"""

import sys
import unicodedata

BASIC = "abcdefghijklmnopqrstuvwxyz"

# Letters beyond a–z that each language's standard alphabet needs.
LATIN_LANGUAGES = {
    "English": "",
    "Afrikaans": "êëéèîïôû",
    "Albanian": "çë",
    "Basque": "ñ",
    "Catalan": "àçèéíïòóúü",
    "Croatian": "čćđšž",
    "Czech": "áčďéěíňóřšťúůýž",
    "Danish": "æøå",
    "Dutch": "éëïóöü",
    "Esperanto": "ĉĝĥĵŝŭ",
    "Estonian": "äöõüšž",
    "Faroese": "áðíóúýæø",
    "Finnish": "äöå",
    "French": "àâæçéèêëîïôœùûüÿ",
    "German": "äöüß",
    "Hungarian": "áéíóöőúüű",
    "Icelandic": "áðéíóúýþæö",
    "Indonesian": "",
    "Irish": "áéíóú",
    "Italian": "àèéìíîòóùú",
    "Latvian": "āčēģīķļņšūž",
    "Lithuanian": "ąčęėįšųūž",
    "Luxembourgish": "äëé",
    "Malay": "",
    "Maltese": "ċġħż",
    "Norwegian": "æøå",
    "Polish": "ąćęłńóśźż",
    "Portuguese": "ãâáàçéêíõôóú",
    "Romanian": "ăâîșț",
    "Slovak": "áäčďéíĺľňóôŕšťúýž",
    "Slovenian": "čšž",
    "Spanish": "áéíñóúü",
    "Swahili": "",
    "Swedish": "åäö",
    "Turkish": "çğıöşüİ",
    "Vietnamese": "ăâđêôơưàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵ",
    "Welsh": "âêîôûŵŷ",
}

GREEK = "αβγδεζηθικλμνξοπρστυφχψω"
RUSSIAN = "абвгдеёжзийклмнопрстуфхцчшщъыьэюя"
# Characters written only in Traditional Chinese (their simplified forms differ).
TRADITIONAL = "體國經們這說語學點門電車馬魚鳥龍長書見"


def needed(letters: str) -> set[str]:
    out = set()
    for c in letters:
        out.add(c)
        # ß has no one-letter capital in common use, and ı's capital is plain I.
        upper = c.upper()
        if len(upper) == 1:
            out.add(upper)
    return out


def scripts(classes: set[str]) -> list[str]:
    found = []
    han = sum(1 for c in classes if "CJK UNIFIED" in unicodedata.name(c, ""))
    if han:
        traditional = all(c in classes for c in TRADITIONAL)
        forms = "Simplified and Traditional" if traditional else "Simplified; Traditional-only forms missing"
        found.append(f"Chinese ({han} Han characters: {forms})")
    kana = sum(1 for c in classes if unicodedata.name(c, "").startswith(("HIRAGANA", "KATAKANA")))
    if kana >= 140:
        found.append(f"Japanese ({kana} kana with the Han characters)")
    if any(unicodedata.name(c, "").startswith("HANGUL") for c in classes):
        found.append("Korean")
    if needed(GREEK) <= classes:
        found.append("Greek")
    if needed(RUSSIAN) <= classes:
        found.append("Russian")
    return found


def main() -> None:
    for path in sys.argv[1:]:
        with open(path, encoding="utf-8") as handle:
            classes = {line.rstrip("\r\n") for line in handle}
        classes.add(" ")
        latin = [name for name, extra in LATIN_LANGUAGES.items() if needed(BASIC + extra) <= classes]
        missing = [name for name in LATIN_LANGUAGES if name not in latin]
        print(f"- `{path.rsplit('/', 1)[-1]}` ({len(classes) - 1} classes): {'; '.join(scripts(classes))}; "
              f"Latin script: {', '.join(latin)}. Not covered: {', '.join(missing) or 'none'}.")


if __name__ == "__main__":
    main()
