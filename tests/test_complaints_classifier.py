"""The complaint text classifier's plain module: features, training, export (no pickle)."""

import numpy as np
import pytest

from complaints.classifier import Example, Model, features, normalise, train, word_bounds

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
    assert report.examples == 8  # 20 % of 36, held out
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
