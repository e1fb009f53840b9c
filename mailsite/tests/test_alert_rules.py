"""deploy/prometheus-alerts.yml: every rule is on a metric that /metrics really exports, with the
labels it really has, and each background component has a rule."""

import re
from pathlib import Path

import yaml

from mailsite.tests.test_metrics import TOKEN, scrape

RULES = yaml.safe_load((Path(__file__).resolve().parents[2] / "deploy" / "prometheus-alerts.yml").read_text())
SELECTOR = re.compile(r"(mailsite_\w+)(?:\{([^}]*)\})?")


def rules():
    return [rule for group in RULES["groups"] for rule in group["rules"]]


def test_each_rule_selects_samples_that_metrics_exports(client, settings, redis_cache, db):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_MULTIPROC_DIR = ""
    samples = scrape(client)
    for rule in rules():
        assert rule["alert"] and rule["for"] and rule["annotations"]["summary"]
        for name, matchers in SELECTOR.findall(rule["expr"]):
            wanted = dict(re.findall(r'(\w+)="([^"]*)"', matchers))
            found = [labels for (sample, labels) in samples if sample == name]
            assert found, f"{rule['alert']}: /metrics has no {name}"
            assert any(wanted.items() <= dict(labels).items() for labels in found), (rule["alert"], wanted, found)


def test_every_background_component_has_an_alert():
    from mailsite.health import COMPONENTS

    covered = {component for rule in rules() for component in re.findall(r'component="(\w+)"', rule["expr"])}
    assert set(COMPONENTS) <= covered
