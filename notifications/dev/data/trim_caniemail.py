"""Make caniemail.json (beside this file) from caniemail's full data set, keeping what the dev
mailbox's compatibility check reads: for each feature that Gmail, Outlook or Apple Mail does not
fully support, its title, link and category, and the latest test result on each platform of
those three that is "not supported" or "partial", with its notes.

    npm pack caniemail && tar xzf caniemail-*.tgz
    python notifications/dev/data/trim_caniemail.py package/data/caniemail.json

The data is caniemail.com's (github.com/hteumeuleu/caniemail), as the npm package `caniemail`
(github.com/shellscape/caniemail) ships it, under the MIT licence in LICENSE-caniemail."""

import json
import re
import sys
from pathlib import Path

FAMILIES = ("gmail", "outlook", "apple-mail")
NOTE = re.compile(r"#(\d+)")


def _latest(results, notes_by_num):
    version = list(results)[-1]  # the data lists each platform's tests oldest first
    value = results[version]
    support = value.split()[0]
    notes = [notes_by_num.get(number, "") for number in NOTE.findall(value)]
    return {"version": version, "support": support, "notes": [note for note in notes if note]}


def trim(data):
    features = {}
    for feature in data["data"]:
        notes = feature.get("notes_by_num") or {}
        stats = {}
        for family, platforms in feature["stats"].items():
            if family not in FAMILIES:
                continue
            latest = {platform: _latest(results, notes) for platform, results in platforms.items()}
            latest = {platform: result for platform, result in latest.items() if result["support"] in ("n", "a")}
            if latest:
                stats[family] = latest
        if not stats:
            continue
        features[feature["slug"]] = {
            "title": feature["title"],
            "url": feature["url"],
            "category": feature["category"],
            "stats": stats,
        }
    return {
        "source": "caniemail.com, github.com/hteumeuleu/caniemail (npm package caniemail, data/caniemail.json)",
        "licence": "MIT, see LICENSE-caniemail",
        "api_version": data["api_version"],
        "last_update_date": data["last_update_date"],
        "families": {family: data["nicenames"]["family"][family] for family in FAMILIES},
        "platforms": data["nicenames"]["platform"],
        "features": features,
    }


if __name__ == "__main__":
    full = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    out = Path(__file__).with_name("caniemail.json")
    out.write_text(json.dumps(trim(full), ensure_ascii=False, separators=(",", ":"), sort_keys=True) + "\n")
    print(f"{out}: {len(full['data'])} features, {out.stat().st_size} bytes")
