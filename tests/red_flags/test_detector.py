"""The red-flag detector on its own, with the project's spaCy pipeline."""

import datetime as dt

import pytest
import yaml

from red_flags.categories import explain, explanations
from red_flags.classifier import UNSPECIFIED
from red_flags.contract import CHECK, EMERGENCY, URGENT
from red_flags.detector import detector_for
from red_flags.rules import RULES
from settings import PROJECT_DIR, spacy_pipeline

SPACY_PIPELINE = str(spacy_pipeline())


@pytest.fixture(scope="module")
def detect():
    return detector_for(SPACY_PIPELINE)


@pytest.mark.parametrize(
    "text, category",
    [
        ("can't feel anything when I wipe and my back is killing me", "saddle_numbness"),
        ("my groin has gone numb since my back went", "saddle_numbness"),
        ("since yesterday i cant pee properly and my lower back is agony", "bladder_bowel"),
        ("i wet myself this morning without noticing, back is really bad", "bladder_bowel"),
        ("can't get an erection since my back pain started last week", "sexual_dysfunction"),
        ("both my legs are numb and tingly", "both_legs_or_worsening_weakness"),
        ("my legs keep giving way and my back hurts", "both_legs_or_worsening_weakness"),
        ("I can't walk since my back went this morning", "both_legs_or_worsening_weakness"),
        ("fell off a ladder yesterday and my back is agony", "major_trauma"),
        ("was in a car crash on monday, back has hurt since", "major_trauma"),
        ("back pain and a crushing pain in my chest", "chest_or_vascular"),
        ("sudden tearing pain in my back", "chest_or_vascular"),
        ("I had breast cancer and now my legs feel weak", "cancer_with_neuro"),
        # squats do not explain numbness "down there", as a long bike ride would
        ("back agony and my genitals feel numb, started after heavy squats", "saddle_numbness"),
        ("my crotch feels like when your foot falls asleep and my back is agony", "saddle_numbness"),  # holds an idiom
        ("I cannot lift my feet properly, both legs, and my back aches", "both_legs_or_worsening_weakness"),
        (
            "both legs getting number every day and my back hurts",
            "both_legs_or_worsening_weakness",
        ),  # "number" = more numb
        # a question answered with more than "no" is no denial
        ("can't pee? never happened to me before, and my back is agony", "bladder_bowel"),
        ("loss of bladder control? no idea what is going on, my back is killing me", "bladder_bowel"),
        # sitting explains a numb bottom only in its own clause
        ("sitting for hours at work, now my groin and bum are numb and my back is agony", "saddle_numbness"),
        ("high fever, stiff neck and my back is throbbing", "fever_with_confusion"),
        ("i went down the stairs on my back last night and it is agony", "major_trauma"),
        # chest pain that "goes away when I stop" is a pattern of the symptom, not its end
        ("back pain and a tight band across my chest when I walk, it goes away when I stop", "chest_or_vascular"),
        # "at a client's house" is where it happened, not a therapist's hypothetical client
        ("carer here, at a clients house today i lost feeling in my groin, back agony", "saddle_numbness"),
        # "fine until" is no recovery, and "back's fine" takes nothing from the legs
        ("my back was fine until I fell down the stairs last night", "major_trauma"),
        ("back's fine but both my legs went numb this morning", "both_legs_or_worsening_weakness"),
        # a comparison with exercise is no exercise
        (
            "both legs wobbly, like after a marathon, but I haven't run in months, and my back is agony",
            "both_legs_or_worsening_weakness",
        ),
        ("lost control of my back passage today and my lower back is killing me", "bladder_bowel"),
        # exercise explains tired legs, not a numbness that keeps spreading
        (
            "tingling in both feet after my long shift and it is creeping up my legs, back aching",
            "both_legs_or_worsening_weakness",
        ),
        ("severe weakness in my left leg since yesterday and my back is agony", "both_legs_or_worsening_weakness"),
    ],
)
def test_emergencies_are_recognised_with_their_category(detect, text, category):
    finding = detect(text)
    assert finding is not None and (finding.level, finding.category) == (EMERGENCY, category)
    assert finding.matched and all(word.lower() in text.lower() for word in finding.matched)


@pytest.mark.parametrize(
    "text, category",
    [
        ("I've had a fever and chills for two days and my lower back aches", "fever_or_infection_risk"),
        ("had bowel cancer three years ago and now my back hurts", "cancer_history_or_weight_loss"),
        ("lost a stone without trying and my back aches", "cancer_history_or_weight_loss"),
        ("I have osteoporosis and after a cough my back is very sore", "fragility_fracture"),
        ("hurt my back when I slipped on the ice last week", "injury_onset"),
        ("tingling and pins and needles down my left leg", "one_leg_nerve"),
        ("the pain wakes me every night and resting doesn't help at all", "night_or_rest_pain"),
        ("I found a new lump on my back", "lump_or_deformity"),
        ("had back surgery three weeks ago and the pain is getting worse", "recent_spinal_surgery"),
        ("my right leg has gone weak since my back started hurting", "one_leg_nerve"),  # weakness in one leg
        ("my mum 81 slipped on the kitchen floor and now her back hurts", "fragility_fracture"),  # "mum 81"
        # "doesn't" denies the relief, not the resting
        ("pain keeps me up every night and doesn't improve with rest", "night_or_rest_pain"),
        # the date belongs to the diagnosis in its clause, not to the lift that followed
        ("osteoporosis diagnosed last year, lifted my grandson and now my back is agony", "fragility_fracture"),
        # "the left one is fine" speaks of the other foot
        ("my back hurts and my right foot has pins and needles, the left one is totally fine", "one_leg_nerve"),
    ],
)
def test_urgent_signs_are_recognised_with_their_category(detect, text, category):
    finding = detect(text)
    assert finding is not None and (finding.level, finding.category) == (URGENT, category)


@pytest.mark.parametrize(
    "text",
    [
        "cant feel anythin wen i wipe n my bak is killin me",  # text-speak and misspellings
        "my wee stream stops and starts since my back went",  # "it stops" is no "it stopped"
        "back pain, 39.8 and so confused i put the kettle in the fridge",  # a temperature without "temp"
        "I read about saddle anaesthesia and I think I have it, numb bum and back agony",  # reading, then reporting
        "numbnes in my privates and my back hurts",
        "my blader wont empty and my back is sore",
    ],
)
def test_misspelt_emergencies_are_recognised(detect, text):
    finding = detect(text)
    assert finding is not None and finding.level == EMERGENCY


@pytest.mark.parametrize(
    "text",
    [
        "no numbness, no tingling, bladder fine, just a stiff lower back",  # denial
        "I haven't had a fall or any injury, it's just from sitting",
        "my foot fell asleep but it's fine now",  # resolved
        "my leg went numb when I knelt in the garden but it came back after a minute",
        "I fell in love with deep tissue",  # idioms
        "I'm dying for a massage, my shoulders are killing me",
        "numb cheek from the dentist, can I still come in?",  # other body part
        "broke my arm as a child, is massage ok?",  # long ago
        "my dad had cancer years ago, my back is just stiff from gardening",  # someone else
        "lost 5 kg on my diet and want a massage to celebrate",  # deliberate
        "what is cauda equina syndrome?",  # a question, not a report
        "can massage help sciatica?",
        "lower back stiff after gardening all weekend",
        "had a temperature last week but no back pain at all, can I book a facial?",  # "no back pain"
        "can't feel my legs after leg day, they're just sore",  # the "not" of a symptom denies nothing else
        "had breast cancer years ago, all clear, would love a relaxing back massage",  # no back *pain*
        "my jaw clicks when I chew, do you do jaw massage?",  # one word twice is not "arm and jaw"
        "chest pain? no. numbness? no. back just tight",  # asked and answered
        "numb bum after a long drive, lower back stiff",  # pressure on the seat explains it
        "both legs numb after squats and my bum aches from them",  # the legs' numbness is the exercise's
        "deadlifted 40.5 kg yesterday and now my back hurts, feel awful",  # a weight, not a temperature
        "left arm ache from carrying the shopping",  # one body part, not pain spreading to two
        "my back feels like a 90 year old's after gardening, i'm 35",  # an age in a simile
        "what number do I ring to book? my legs and back are tired",  # spaCy reads "number" as "more numb"
        "my legs felt heavy for an hour after the massage. they're fine now",  # passed, said in the next sentence
        "my gran passed away from cancer last year, I carry a lot of tension in my back",  # her age, not mine
        "my legs feel wobbly going down the stairs after leg day, back is tight",  # walking down, not falling
        "my gran is 88 and wants a hand massage, she coughs a lot but no back trouble",  # the back said to be well
        "fell off the bouncy castle at the party, bruised my ego, no pain",
        "my uncle is in a lot of pain from his lung cancer, how do I get his doctor to listen?",  # no back
        "my back aches and the pain often brings me to tears",  # crying, not tearing pain
        "no pins and needles or tingling down my legs, just tired muscles from work",  # "and" inside a symptom
        "checklist: 'loss of bladder control?' - no. 'saddle numbness?' - no. back only stiff",  # a form answered
        "my leg gave way at the finish line of the marathon, back a bit tight",
        "",
    ],
)
def test_near_misses_do_not_escalate(detect, text):
    finding = detect(text)
    assert finding is None or finding.level == CHECK, finding


@pytest.mark.parametrize(
    "text, category",
    [
        ("my back aches more at night", "night_pain"),
        ("it hurts my back when i sneeze", "pain_on_coughing"),
        ("I'm 72 and my back hurts", "older_age"),
        ("my back feels fine except when i sneeze, then it really hurts", "pain_on_coughing"),  # fine, except
    ],
)
def test_a_single_weak_sign_asks_a_follow_up_instead_of_an_alarm(detect, text, category):
    finding = detect(text)
    assert finding is not None and (finding.level, finding.category) == (CHECK, category)


def test_every_category_has_a_plain_words_explanation():
    categories = {(level, category) for level, category, _ in RULES}
    # The classifier's tier without a clear category (red_flags/classifier.py).
    categories |= {(EMERGENCY, UNSPECIFIED), (URGENT, UNSPECIFIED)}
    for level, category in categories:
        assert explain(level, category), (level, category)
    assert sum(len(items) for items in explanations().values()) == len(categories)


def test_huge_and_hostile_text_is_handled(detect):
    assert detect("<script>alert(1)</script> " * 500) is None
    assert detect("massage " * 5000) is None
    assert detect("\x00\x01\u202e") is None


def test_faq_questions_never_raise_an_emergency(detect):
    """Every training phrasing of the FAQ: none is an emergency; the few urgent ones speak of an
    injury or a nerve symptom in one leg, which the reference sends to a doctor first."""
    from knowledge import load_topics

    for topic in load_topics():
        for question in topic.questions:
            finding = detect(question)
            if finding and finding.level != CHECK:
                assert finding.level == URGENT, (topic.id, question, finding)
                assert finding.category in {"injury_onset", "one_leg_nerve"}, (topic.id, question, finding)


def _which_sign_buttons():
    domain = yaml.safe_load((PROJECT_DIR / "domain.yml").read_text())
    [response] = domain["responses"]["utter_red_flag_check_yes"]
    return [(button["title"], button["payload"]) for button in response["buttons"]]


@pytest.mark.parametrize("title, payload", _which_sign_buttons())
def test_each_sign_named_after_a_yes_escalates_at_its_tier(detect, title, payload):
    """The buttons of the follow-up after a yes say each sign in words the detector reads."""
    finding = detect(payload)
    emergency = title.startswith(("Numbness", "Trouble"))
    assert finding is not None and finding.level == (EMERGENCY if emergency else URGENT), (title, finding)


@pytest.mark.parametrize(
    "text, level, category, quoted",
    [
        ("I have a fever", URGENT, "fever_or_infection_risk", ("fever",)),
        ("I fell down the stairs this morning", EMERGENCY, "major_trauma", ("fell down the stairs",)),
        ("I had breast cancer two years ago", URGENT, "cancer_history_or_weight_loss", ("cancer",)),
    ],
)
def test_a_sign_counts_with_back_pain_told_earlier_in_the_conversation(detect, text, level, category, quoted):
    doc = detect.nlp(text.lower())
    assert detect.read(doc).finding is None  # alone, it says nothing about a back
    finding = detect.read(doc, back_pain_known=True).finding
    assert (finding.level, finding.category) == (level, category)
    assert finding.matched == quoted  # the earlier words are not quoted as if said now


def test_back_pain_told_earlier_does_not_undo_a_denial(detect):
    assert detect.read(detect.nlp("no fever, just tired"), back_pain_known=True).finding is None


@pytest.mark.parametrize(
    "text, mentions",
    [("my lower back has been aching for a week", True), ("can I book for Tuesday?", False), ("back's fine", False)],
)
def test_a_message_that_speaks_of_the_back_is_recognised(detect, text, mentions):
    assert detect.read(detect.nlp(text)).mentions_back is mentions


def test_a_fall_dated_years_back_does_not_count_but_one_this_year_does(detect):
    # Counted from today's year, so the rule does not go stale as the years pass.
    this_year = dt.date.today().year
    assert detect(f"in {this_year - 6} i fell off a ladder and hurt my back, now it aches when i sit") is None
    this_year_fall = detect(f"in {this_year} i fell off a ladder and hurt my back, now it aches when i sit")
    assert this_year_fall and this_year_fall.level == EMERGENCY and this_year_fall.category == "major_trauma"


@pytest.mark.parametrize(
    "text",
    [
        "I did my lower back in lifting the shopping yesterday",
        "strained my upper back moving furniture on Sunday",
        "I hurt my lower left back at the gym this morning",
    ],
)
def test_a_region_of_the_back_does_not_hide_an_injury(detect, text):
    finding = detect(text)
    assert finding and finding.level == URGENT and finding.category == "injury_onset"
