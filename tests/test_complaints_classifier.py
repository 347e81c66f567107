"""The complaint text classifier: its plain module (features, training, export without pickle),
the shipped model in routing against the issue's complaints and the evaluation set's goals,
keyword matching, and the corpus as data."""

import json

import numpy as np
import pytest

from complaints import classifier
from complaints.classifier import Example, Model, features, normalise, train, word_bounds
from complaints.evaluation import measure
from complaints.routing import (
    DEFAULT_RULES_PATH,
    load_rules,
    route,
    rules_from_dict,
    urgent_signals,
)

CLASSES = ["abuse", "fees", "care_quality"]


@pytest.fixture(scope="module")
def small_model():
    examples = []
    for i in range(12):
        examples.append(Example(f"老师打了孩子第{i}次，孩子脸上都是巴掌印", "abuse", True))
        examples.append(Example(f"每月学费涨了{i}百元还不给退费", "fees", False))
        examples.append(Example(f"老师态度很差，第{i}天了家长群消息都不回", "care_quality", False))
    return train(examples, CLASSES)


def test_keywords_fall_on_word_boundaries_only():
    text = normalise("孩子被打扰了")
    bounds = word_bounds(text)
    start = text.index("被打")
    # "被打" starts on a boundary but ends inside "打扰": it is not a word of this text
    assert start in bounds and start + 2 not in bounds
    assert len(text) in bounds


def test_features_are_words_and_character_ngrams():
    feats = features("老师 掐着点下班！")
    assert "w:老师" in feats and "w:下班" in feats
    assert "c:掐" in feats and "c:点下班" in feats
    assert not any("！" in f or " " in f for f in feats)


def test_trained_model_separates_categories_and_flags_urgency(small_model):
    model, report = small_model
    hit = model.predict("老师扇孩子巴掌")
    assert hit.category == "abuse" and hit.urgent
    fees = model.predict("退费的事一直拖着，学费也涨了")
    assert fees.category == "fees" and not fees.urgent
    assert abs(sum(hit.probabilities.values()) - 1) < 1e-9
    assert report.examples == 36  # every example held out once (cross-validation)
    assert set(report.per_category) == set(CLASSES)


def test_the_exported_vector_is_scikit_learns(small_model):
    from sklearn.feature_extraction.text import TfidfVectorizer

    model, _ = small_model
    terms = sorted(model.vocabulary, key=model.vocabulary.get)
    vec = TfidfVectorizer(analyzer=features, sublinear_tf=True, vocabulary=terms)
    vec.fit(["占位"])  # fixes the vocabulary; the idf is set from the model below
    vec.idf_ = model.idf
    text = "老师态度差，学费还涨了，孩子脸上有巴掌印"
    expected = vec.transform([text]).toarray()[0]
    assert np.allclose(model.vector(text), expected)


def test_a_model_reads_back_from_its_bytes_and_never_from_a_pickle(small_model):
    model, _ = small_model
    again = Model.from_bytes(model.to_bytes())
    text = "家长群里老师从来不回消息"
    assert again.predict(text).category == model.predict(text).category
    assert abs(again.predict(text).confidence - model.predict(text).confidence) < 1e-4
    with pytest.raises(ValueError):
        Model.from_bytes(b"not a model")


def test_training_refuses_a_category_without_examples():
    examples = [Example("老师打孩子了好多次", "abuse", True)] * 3
    examples += [Example("学费又涨价了还不退", "fees", False)] * 3
    with pytest.raises(ValueError, match="care_quality"):
        train(examples, CLASSES)


# --- the shipped model in routing: the complaints and the goals ----------------------


@pytest.fixture(scope="module")
def rules():
    return load_rules()


@pytest.fixture(scope="module")
def shipped():
    return classifier.shipped_model()


def _route(rules, model, text, picked=None):
    return route(picked, "private", False, False, text, rules, model)


@pytest.mark.parametrize(
    "text, picked",
    [
        ("老师掐着点下班，家长群消息都不回", "care_quality"),
        ("孩子在户外踢球的时间太少，老师总让他们在屋里看动画片", "care_quality"),
        ("托育园的APP要求绑定手机号才能请假，每天还推送广告", None),
        ("老师掐着点下班，家长群消息都不回", None),
    ],
)
def test_harmless_words_no_longer_send_a_case_to_the_police(rules, shipped, text, picked):
    r = _route(rules, shipped, text, picked)
    assert r.lead != "police"
    assert r.category_used != "abuse"
    assert not any(reason.kind in ("escalated", "urgent_text") for reason in r.reasons)
    if picked:
        assert r.category_used == picked  # the pick stands


@pytest.mark.parametrize(
    "text, lead",
    [
        ("我家孩子被老师锁在储物间里快一个小时，放出来的时候哭得说不出话", "police"),
        ("孩子说老师拿针戳手心，手心上还有针眼", "police"),
        ("午睡的时候老师用被子蒙头，孩子说喘不上气", "police"),
        ("今天中午吃完饭好几个孩子都吐了，还有发烧的", "market"),
    ],
)
def test_serious_harm_in_plain_words_is_urgent_and_reaches_its_lead(rules, shipped, text, lead):
    for picked in (None, "care_quality"):
        r = _route(rules, shipped, text, picked)
        assert r.urgent, (text, picked, r.texts)
        assert r.lead == lead, (text, picked, r.texts)
        if picked:  # the pick's lead keeps a hand in the case, and the reasons say why
            assert "health" in r.co_handlers
            assert any(x.kind in ("escalated", "escalated_model") for x in r.reasons)


def test_the_pick_stands_when_the_text_is_not_graver(rules, shipped):
    # text about fees, picked as care quality (milder, not graver): the pick is respected
    r = _route(rules, shipped, "老师不怎么管孩子，学费还涨了两百", "care_quality")
    assert (r.category_used, r.lead) == ("care_quality", "health")


def test_no_pick_and_an_unsure_model_waits_for_triage(rules, shipped):
    data = json.loads(DEFAULT_RULES_PATH.read_text(encoding="utf-8"))
    data["classifier"]["confident"] = 0.999
    strict = rules_from_dict(data)
    r = _route(strict, shipped, "园里的情况我不太满意，想找人说说")
    assert r.awaiting_category and (r.category_used, r.lead) == ("other", "health")
    assert r.reasons[0].kind == "awaiting" and "低于 100%" in r.reasons[0].text
    confident = _route(rules, shipped, "收了一年学费突然关门跑路了")
    assert not confident.awaiting_category and confident.category_used == "fees"


def test_a_grave_category_without_a_pick_needs_the_escalation_bar(rules, shipped):
    # the model's top category is abuse, but not surely: the case waits at health, urgent
    text = "孩子回来说不想去了"
    p = shipped.predict(text)
    assert p.category == "abuse" and rules.classifier["confident"] <= p.confidence
    assert p.confidence < rules.classifier["escalate"]
    r = _route(rules, shipped, text)
    assert (r.lead, r.awaiting_category, r.urgent) == ("health", True, True)


def test_goals_hold_on_the_evaluation_set(rules, shipped):
    """The issue's bars: lead department ≥ 90 %, urgent recall ≥ 98 %, no trap to the police
    (docs/complaints-classifier.md has the figures, written by bench/classifier.py)."""
    m = measure(shipped, rules, classifier.evaluation_set(set(rules.categories)), timing=False)
    assert m["examples"] >= 16 * len(rules.categories)
    assert m["traps"] >= 40
    assert m["lead_accuracy"] >= 0.90, m["wrong_lead"]
    assert m["urgent_recall"] >= 0.98, m["urgent_missed"]
    assert m["traps_to_police"] == 0, m["traps_to_police_texts"]


def test_the_shipped_model_is_the_one_the_corpus_trains(rules, shipped):
    """Someone who edits the corpus must retrain (`flask complaints train --ship`)."""
    corpus = classifier.training_corpus(set(rules.categories))
    assert shipped.info["corpus_digest"] == classifier.digest(corpus)
    assert shipped.classes == list(rules.categories)


# --- keywords: word boundaries, benign phrases, at least two characters -------------------


def test_keywords_count_on_word_boundaries_only(rules):
    assert "abuse" in urgent_signals("孩子被打了", rules)
    assert urgent_signals("午睡被打扰了好几次", rules) == {}
    assert urgent_signals("这个月学费打骨折，比外面便宜", rules) == {}  # a benign phrase
    assert urgent_signals("今天做了消防演练", rules) == {}
    assert urgent_signals("园长说我们从不体罚孩子", rules) == {}  # negated
    assert "abuse" in urgent_signals("老师体罚孩子", rules)


def test_one_character_keywords_are_refused_on_save_and_dropped_from_old_versions():
    data = json.loads(DEFAULT_RULES_PATH.read_text(encoding="utf-8"))
    abuse = next(c for c in data["categories"] if c["code"] == "abuse")
    abuse["urgent_keywords"].append("掐")
    with pytest.raises(ValueError, match="关键词至少 2 个字.*“掐”"):
        rules_from_dict(data)
    lenient = rules_from_dict(data, strict=False)  # a version saved before the rule
    assert "掐" not in lenient.categories["abuse"].urgent_keywords
    assert urgent_signals("老师掐着点下班", lenient) == {}


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"confident": 1.5}, "confident"),
        ({"escalate": 0}, "escalate"),
        ({"keyword_support": "high"}, "keyword_support"),
        ({"grave_severity": 2.5}, "grave_severity"),
        ({"colour": 1}, "only"),
    ],
)
def test_classifier_settings_are_validated(settings, message):
    data = json.loads(DEFAULT_RULES_PATH.read_text(encoding="utf-8"))
    data["classifier"] = settings
    with pytest.raises(ValueError, match=message):
        rules_from_dict(data)


# --- the corpus as data ------------------------------------------------------------------------


def test_the_corpus_is_labelled_data_kept_apart_from_the_evaluation_set(rules):
    train = classifier.training_corpus(set(rules.categories))
    evaluation = classifier.evaluation_set(set(rules.categories))
    per_category = {c: sum(e.category == c for e in train) for c in rules.categories}
    assert min(per_category.values()) >= 40, per_category
    assert sum((e.note or "").startswith("trap:") for e in train) >= 100
    for e in train + evaluation:
        assert 15 <= len(e.text) <= 400, e.text
    seen = {classifier.normalise(e.text) for e in train}
    assert len(seen) == len(train)  # no example twice
    # no evaluation complaint shares a 12-character passage with a training one
    shingles = {t[i : i + 12] for t in seen for i in range(len(t) - 11)}
    for e in evaluation:
        t = classifier.normalise(e.text)
        assert not any(t[i : i + 12] in shingles for i in range(len(t) - 11)), e.text


def test_a_lone_urgent_word_about_the_parent_does_not_make_the_case_urgent(rules, shipped):
    text = "孩子爷爷住院抢救了好几天，我们想请一个月假，园里说请假也要照交托费"
    r = _route(rules, shipped, text, "fees")
    assert (r.category_used, r.urgent) == ("fees", False)
    (discounted,) = [x for x in r.reasons if x.kind == "urgent_text_discounted"]
    assert "“抢救”" in discounted.text and "不因此标记紧急" in discounted.text
    # without a model to weigh it, the word alone still counts (the keyword rules' own safety)
    assert route("fees", "private", False, False, text, rules).urgent


def test_two_urgent_words_always_count(rules, shipped):
    r = _route(rules, shipped, "老师态度很差，还打了孩子一巴掌", "care_quality")
    assert (r.category_used, r.lead, r.urgent) == ("abuse", "police", True)
