#!/usr/bin/env python3
"""Derive the demo's sample leads, managers and pool config from the public data set.

Usage: ops/sample/derive.py [DATA_DIR]

DATA_DIR contains xeducation-leads.csv, sales-managers.csv and sales-pipeline.csv and
defaults to ../shared/data next to the repository root. The script writes
leads.jsonl, managers.csv and config.json next to itself. The output is
deterministic, so running it again on the same data changes no file. The demo
reads only the written files, so it runs on a clone without the data set.

Routing groups. Each sales team sells one specialization, and every manager is
also in `general`, the weighted group that takes unqualified leads, the
specializations that no team sells, and the overflow of the other groups:

    team-A -> finance      Finance Management; Banking, Investment And Insurance
    team-B -> marketing    Marketing Management; Media and Advertising; Retail Management
    team-C -> operations   Operations Management; Supply Chain Management
    team-D -> it           IT Projects Management; E-COMMERCE; E-Business
    team-E -> hr           Human Resource Management
    team-F -> business     Business Administration; International Business

Travel and Tourism, Healthcare Management, Hospitality Management, Rural and
Agribusiness and Services Excellence match no route and go to `general`, as do
leads whose specialization is empty or the form placeholder "Select".

Caps and quality gates. GROUP_SETTINGS is chosen against this sample so that the
demo shows every filter at work while every lead still gets a manager. The
expected effects below come from replaying the sample leads in file order
through these rules, with open counts that grow by one per assigned lead:
- finance, marketing, operations, hr and business skip one or two managers whose
  share of empty CRM fields is above the group's max_empty_fields;
- mgr-01, mgr-09, mgr-19, mgr-31 and mgr-32 start with more open deals than their
  group's max_open, and about five more managers reach it during the demo;
- operations runs out of eligible managers after about 72 of its 76 leads, so
  the rest fall back to `general`, which has no cap and no quality gate.
"""

import csv
import json
import os
import sys
from collections import defaultdict

# Every LEAD_STEP-th row of xeducation-leads.csv, from the first, becomes a sample lead
# (1,027 of 9,237 rows).
LEAD_STEP = 9

LEAD_FIELDS = [
    # (field in leads.jsonl, column in xeducation-leads.csv)
    ("id", "Prospect ID"),
    ("specialization", "Specialization"),
    ("source", "Lead Source"),
    ("country", "Country"),
    ("quality", "Lead Quality"),
]

TEAM_GROUPS = {
    "team-A": "finance",
    "team-B": "marketing",
    "team-C": "operations",
    "team-D": "it",
    "team-E": "hr",
    "team-F": "business",
}

DEFAULT_GROUP = "general"

# Specializations routed to each team's group, in route order.
GROUP_SPECIALIZATIONS = {
    "finance": ["Finance Management", "Banking, Investment And Insurance"],
    "marketing": ["Marketing Management", "Media and Advertising", "Retail Management"],
    "operations": ["Operations Management", "Supply Chain Management"],
    "it": ["IT Projects Management", "E-COMMERCE", "E-Business"],
    "hr": ["Human Resource Management"],
    "business": ["Business Administration", "International Business"],
}

GROUP_SETTINGS = {
    "finance": {"method": "round_robin", "max_open": 100, "max_empty_fields": 0.22},
    "marketing": {"method": "least_loaded", "max_open": 90, "max_empty_fields": 0.20},
    "operations": {"method": "round_robin", "max_open": 90, "max_empty_fields": 0.18},
    "it": {"method": "round_robin", "max_open": 150},
    "hr": {"method": "least_loaded", "max_empty_fields": 0.18},
    "business": {"method": "round_robin", "max_open": 100, "max_empty_fields": 0.19},
}

# min_share is the minimum share of the group's leads per manager. It must stay below
# 1/35 (about 0.029) because at 1/35 or more the 35 managers of `general` would all get
# the same share. At 0.02 each of the five new hires, whose rating is 0, gets 2% of the
# leads, and an average experienced manager gets 3%.
GENERAL_SETTINGS = {
    "method": "weighted",
    "rating": {"won_value": 0.5, "conversion": 0.3, "deals_won": 0.2},
    "min_share": 0.02,
}

PLACEHOLDERS = ["Select"]

OPEN_STAGES = {"Engaging", "Prospecting"}

MANAGER_COLUMNS = [
    "id", "team", "office", "groups", "won_value", "conversion",
    "deals_won", "deals_lost", "open_deals", "empty_fields",
]


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


def format_ratio(value):
    """Format a ratio with at most 4 decimal places and no trailing zeros ("0.154", "0")."""
    return f"{value:.4f}".rstrip("0").rstrip(".")


def derive_leads(lead_rows):
    leads = []
    for row in lead_rows[::LEAD_STEP]:
        leads.append({field: row[column] for field, column in LEAD_FIELDS})
    return leads


def derive_managers(manager_rows, deal_rows):
    """Return one managers.csv row per manager, with the metrics a CRM sync would send.

    A manager without deals gets empty metric columns, so the demo sends no
    metric for them and the product treats them as a new hire with no data.
    """
    deals_by_manager = defaultdict(list)
    for deal in deal_rows:
        deals_by_manager[deal["manager_id"]].append(deal)

    rows = []
    for manager in manager_rows:
        manager_id = manager["manager_id"]
        team = manager["team"]
        if team not in TEAM_GROUPS:
            raise SystemExit(f"derive.py: manager {manager_id} is in unknown team {team!r}; "
                             "add the team to TEAM_GROUPS")
        row = {
            "id": manager_id,
            "team": team,
            "office": manager["regional_office"],
            "groups": ";".join([TEAM_GROUPS[team], DEFAULT_GROUP]),
            "won_value": "",
            "conversion": "",
            "deals_won": "",
            "deals_lost": "",
            "open_deals": "",
            "empty_fields": "",
        }

        deals = deals_by_manager.get(manager_id, [])
        if deals:
            won = [deal for deal in deals if deal["deal_stage"] == "Won"]
            lost_count = sum(1 for deal in deals if deal["deal_stage"] == "Lost")
            open_count = sum(1 for deal in deals if deal["deal_stage"] in OPEN_STAGES)
            empty_account_count = sum(1 for deal in deals if deal["account"] == "")
            won_value = sum(float(deal["close_value"]) for deal in won)
            closed_count = len(won) + lost_count

            row["won_value"] = f"{won_value:.0f}" if won_value.is_integer() else str(won_value)
            row["deals_won"] = str(len(won))
            row["deals_lost"] = str(lost_count)
            row["open_deals"] = str(open_count)
            row["empty_fields"] = format_ratio(empty_account_count / len(deals))
            if closed_count:
                row["conversion"] = format_ratio(len(won) / closed_count)

        # ops/demo splits managers.csv on commas without CSV quoting.
        for column, value in row.items():
            if "," in value or "\n" in value:
                raise SystemExit(f"derive.py: manager {manager_id}: {column} {value!r} "
                                 "contains a comma or line break, which ops/demo cannot read")
        rows.append(row)
    return rows


def derive_config():
    routes = []
    for group, specializations in GROUP_SPECIALIZATIONS.items():
        routes.append({"match": {"specialization": specializations}, "group": group})
    routes.append({"group": DEFAULT_GROUP})

    groups = {}
    for group, settings in GROUP_SETTINGS.items():
        groups[group] = dict(settings, fallback=DEFAULT_GROUP)
    groups[DEFAULT_GROUP] = GENERAL_SETTINGS

    return {"placeholders": PLACEHOLDERS, "routes": routes, "groups": groups}


def format_config(config):
    """Format the config as JSON with one line per route and per group, for easy review."""
    def dump(value):
        return json.dumps(value, ensure_ascii=False)

    route_lines = ",\n".join(f"    {dump(route)}" for route in config["routes"])
    group_lines = ",\n".join(
        f"    {dump(name)}: {dump(settings)}" for name, settings in config["groups"].items()
    )
    text = (
        "{\n"
        f'  "placeholders": {dump(config["placeholders"])},\n'
        f'  "routes": [\n{route_lines}\n  ],\n'
        f'  "groups": {{\n{group_lines}\n  }}\n'
        "}\n"
    )
    if json.loads(text) != config:
        raise AssertionError("format_config produced JSON that differs from the config")
    return text


def write_text(path, text):
    with open(path, "w", encoding="utf-8", newline="\n") as file:
        file.write(text)


def main(argv):
    if len(argv) > 2 or (len(argv) == 2 and argv[1] in ("-h", "--help")):
        print("usage: ops/sample/derive.py [DATA_DIR]", file=sys.stderr)
        return 2

    sample_dir = os.path.dirname(os.path.abspath(__file__))
    repo_root = os.path.dirname(os.path.dirname(sample_dir))
    if len(argv) == 2:
        data_dir = argv[1]
    else:
        data_dir = os.path.join(repo_root, "..", "shared", "data")

    paths = {
        name: os.path.join(data_dir, name)
        for name in ("xeducation-leads.csv", "sales-managers.csv", "sales-pipeline.csv")
    }
    for path in paths.values():
        if not os.path.isfile(path):
            print(f"derive.py: input file not found: {path}; "
                  "pass the data directory as the first argument", file=sys.stderr)
            return 1

    leads = derive_leads(read_csv(paths["xeducation-leads.csv"]))
    managers = derive_managers(read_csv(paths["sales-managers.csv"]),
                               read_csv(paths["sales-pipeline.csv"]))
    config = derive_config()

    lead_lines = "".join(json.dumps(lead, ensure_ascii=False) + "\n" for lead in leads)
    write_text(os.path.join(sample_dir, "leads.jsonl"), lead_lines)

    with open(os.path.join(sample_dir, "managers.csv"), "w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=MANAGER_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(managers)

    write_text(os.path.join(sample_dir, "config.json"), format_config(config))

    print(f"derive.py: wrote {len(leads)} leads, {len(managers)} managers and "
          f"{len(config['groups'])} groups to {sample_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
