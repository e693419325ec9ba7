"""The date words of each language the reader knows, accent-folded and lower-cased.

Every table maps a folded word (see :func:`fold`) to its meaning; a language's tables are used
only when it is in ``LANGUAGES``. Abbreviations are listed without their dot.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

SUPPORTED = ("en", "de", "fr", "es")


def fold(word: str) -> str:
    """Lower case without accents: "Mär." → "mar.", "Übermorgen" → "ubermorgen"."""
    word = word.lower().replace("ß", "ss").replace("’", "'")
    return "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))


@dataclass
class Vocab:
    """The words of the enabled languages, merged."""

    weekdays: dict[str, int] = field(default_factory=dict)
    weekday_abbr: dict[str, int] = field(default_factory=dict)  # need a dot or context
    months: dict[str, int] = field(default_factory=dict)
    days: dict[str, int] = field(default_factory=dict)  # today 0, tomorrow 1 …
    next_words: set[str] = field(default_factory=set)
    this_words: set[str] = field(default_factory=set)
    last_words: set[str] = field(default_factory=set)
    after_next: set[str] = field(default_factory=set)  # "vendredi prochain", "que viene"
    units: dict[str, str] = field(default_factory=dict)
    numbers: dict[str, int] = field(default_factory=dict)
    ordinals: dict[str, int] = field(default_factory=dict)  # first 1 … last -1
    in_words: set[str] = field(default_factory=set)  # "in 3 days"
    from_now: set[str] = field(default_factory=set)  # "3 days from now" (joined)
    business: set[str] = field(default_factory=set)  # "business", "working", "Werktag"
    periods: dict[str, str] = field(default_factory=dict)  # morning, afternoon, evening, night
    clock_words: dict[str, tuple[int, int]] = field(default_factory=dict)  # noon 12:00
    connectors: set[str] = field(default_factory=set)  # due, on, by, am, bis, le, el …
    time_connectors: set[str] = field(default_factory=set)  # at, um, à, a las
    fillers: set[str] = field(default_factory=set)  # the, of, de, des, im
    week: set[str] = field(default_factory=set)
    weekend: set[str] = field(default_factory=set)
    end: set[str] = field(default_factory=set)
    hours_words: set[str] = field(default_factory=set)  # uhr, h, heures, horas, o'clock
    approx: set[str] = field(default_factory=set)  # around, gegen, vers, hacia


_WD_EN = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_WD_DE = ["montag", "dienstag", "mittwoch", "donnerstag", "freitag", "samstag", "sonntag"]
_WD_FR = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"]
_WD_ES = ["lunes", "martes", "miercoles", "jueves", "viernes", "sabado", "domingo"]
_MO_EN = ["january", "february", "march", "april", "may", "june", "july", "august",
          "september", "october", "november", "december"]  # fmt: skip
_MO_DE = ["januar", "februar", "marz", "april", "mai", "juni", "juli", "august",
          "september", "oktober", "november", "dezember"]  # fmt: skip
_MO_FR = ["janvier", "fevrier", "mars", "avril", "mai", "juin", "juillet", "aout",
          "septembre", "octobre", "novembre", "decembre"]  # fmt: skip
_MO_ES = ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
          "septiembre", "octubre", "noviembre", "diciembre"]  # fmt: skip

_UNITS_EN = {"min": "minutes", "mins": "minutes", "minute": "minutes", "minutes": "minutes",
             "h": "hours", "hr": "hours", "hrs": "hours", "hour": "hours", "hours": "hours",
             "day": "days", "days": "days", "d": "days", "week": "weeks", "weeks": "weeks",
             "wk": "weeks", "wks": "weeks", "fortnight": "fortnights", "month": "months",
             "months": "months", "year": "years", "years": "years", "yr": "years",
             "yrs": "years"}  # fmt: skip
_UNITS_DE = {"minute": "minutes", "minuten": "minutes", "stunde": "hours", "stunden": "hours",
             "tag": "days", "tage": "days", "tagen": "days", "woche": "weeks",
             "wochen": "weeks", "monat": "months", "monate": "months", "monaten": "months",
             "jahr": "years", "jahre": "years", "jahren": "years", "werktag": "bdays",
             "werktage": "bdays", "werktagen": "bdays", "arbeitstag": "bdays",
             "arbeitstage": "bdays", "arbeitstagen": "bdays"}  # fmt: skip
_UNITS_FR = {"minute": "minutes", "minutes": "minutes", "heure": "hours", "heures": "hours",
             "jour": "days", "jours": "days", "semaine": "weeks", "semaines": "weeks",
             "mois": "months", "an": "years", "ans": "years", "annee": "years",
             "annees": "years", "quinzaine": "fortnights"}  # fmt: skip
_UNITS_ES = {"minuto": "minutes", "minutos": "minutes", "hora": "hours", "horas": "hours",
             "dia": "days", "dias": "days", "semana": "weeks", "semanas": "weeks",
             "mes": "months", "meses": "months", "ano": "years", "anos": "years",
             "quincena": "fortnights"}  # fmt: skip

_NUM_EN = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
           "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
           "couple": 2, "fifteen": 15, "twenty": 20, "thirty": 30}  # fmt: skip
_NUM_DE = {"ein": 1, "eine": 1, "einem": 1, "einer": 1, "einen": 1, "zwei": 2, "drei": 3,
           "vier": 4, "funf": 5, "sechs": 6, "sieben": 7, "acht": 8, "neun": 9, "zehn": 10,
           "elf": 11, "zwolf": 12, "vierzehn": 14}  # fmt: skip
_NUM_FR = {"un": 1, "une": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "six": 6,
           "sept": 7, "huit": 8, "neuf": 9, "dix": 10, "onze": 11, "douze": 12,
           "quinze": 15}  # fmt: skip
_NUM_ES = {"un": 1, "una": 1, "uno": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5,
           "seis": 6, "siete": 7, "ocho": 8, "nueve": 9, "diez": 10, "once": 11, "doce": 12,
           "quince": 15}  # fmt: skip

_ORD_EN = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4,
           "4th": 4, "fifth": 5, "5th": 5, "last": -1}  # fmt: skip
_ORD_DE = {"erste": 1, "ersten": 1, "erster": 1, "zweite": 2, "zweiten": 2, "zweiter": 2,
           "dritte": 3, "dritten": 3, "dritter": 3, "vierte": 4, "vierten": 4, "vierter": 4,
           "letzte": -1, "letzten": -1, "letzter": -1}  # fmt: skip
_ORD_FR = {"premier": 1, "premiere": 1, "1er": 1, "1re": 1, "deuxieme": 2, "second": 2,
           "seconde": 2, "2e": 2, "troisieme": 3, "3e": 3, "quatrieme": 4, "4e": 4,
           "dernier": -1, "derniere": -1}  # fmt: skip
_ORD_ES = {"primer": 1, "primero": 1, "primera": 1, "segundo": 2, "segunda": 2, "tercer": 3,
           "tercero": 3, "tercera": 3, "cuarto": 4, "cuarta": 4, "ultimo": -1,
           "ultima": -1}  # fmt: skip


def _lang(code: str) -> Vocab:
    if code == "en":
        return Vocab(
            weekdays={w: i for i, w in enumerate(_WD_EN)}
            | {"tues": 1, "tue": 1, "thurs": 3, "thur": 3, "thu": 3, "fri": 4, "weds": 2},
            weekday_abbr={"mon": 0, "wed": 2, "sat": 5, "sun": 6},
            months={m: i + 1 for i, m in enumerate(_MO_EN)}
            | {m[:3]: i + 1 for i, m in enumerate(_MO_EN) if m != "may"}
            | {"sept": 9},
            days={
                "today": 0,
                "tonight": 0,
                "tomorrow": 1,
                "tmrw": 1,
                "tmr": 1,
                "tmw": 1,
                "yesterday": -1,
            },
            next_words={"next", "coming"},
            this_words={"this"},
            last_words={"last", "past", "previous"},
            units=_UNITS_EN,
            numbers=_NUM_EN,
            ordinals=_ORD_EN,
            in_words={"in", "within"},
            from_now={"from now", "later", "hence"},
            business={"business", "working", "work", "biz"},
            periods={
                "morning": "morning",
                "afternoon": "afternoon",
                "evening": "evening",
                "night": "night",
                "tonight": "night",
                "lunchtime": "noon",
                "lunch": "noon",
            },
            clock_words={"noon": (12, 0), "midday": (12, 0), "midnight": (23, 59)},
            connectors={
                "due",
                "on",
                "by",
                "before",
                "until",
                "till",
                "from",
                "starting",
                "deadline",
                "for",
            },
            time_connectors={"at", "@"},
            fillers={"the", "of", "in"},
            week={"week"},
            weekend={"weekend"},
            end={"end"},
            hours_words={"o'clock", "oclock", "h"},
            approx={"around", "about", "approx", "approximately", "circa", "ca"},
        )
    if code == "de":
        return Vocab(
            weekdays={w: i for i, w in enumerate(_WD_DE)},
            weekday_abbr={"mo": 0, "di": 1, "mi": 2, "do": 3, "fr": 4, "sa": 5, "so": 6},
            months={m: i + 1 for i, m in enumerate(_MO_DE)}
            | {
                "jan": 1,
                "feb": 2,
                "mar": 3,
                "apr": 4,
                "jun": 6,
                "jul": 7,
                "aug": 8,
                "sep": 9,
                "sept": 9,
                "okt": 10,
                "nov": 11,
                "dez": 12,
                "jänner": 1,
                "janner": 1,
            },
            days={"heute": 0, "morgen": 1, "ubermorgen": 2, "gestern": -1},
            next_words={"nachsten", "nachste", "nachster", "kommenden", "kommende"},
            this_words={"diesen", "diese", "dieser", "diesem"},
            last_words={"letzten", "letzte", "vergangenen"},
            units=_UNITS_DE,
            numbers=_NUM_DE,
            ordinals=_ORD_DE,
            in_words={"in"},
            from_now=set(),
            business=set(),
            periods={
                "morgens": "morning",
                "fruh": "morning",
                "vormittag": "morning",
                "nachmittag": "afternoon",
                "nachmittags": "afternoon",
                "abend": "evening",
                "abends": "evening",
                "nacht": "night",
                "mittag": "noon",
                "mittags": "noon",
            },
            clock_words={"mitternacht": (23, 59)},
            connectors={"am", "bis", "zum", "ab", "vor", "fallig", "spatestens"},
            time_connectors={"um", "gegen"},
            fillers={"des", "der", "im", "den", "dem", "die", "das", "ende"},
            week={"woche"},
            weekend={"wochenende"},
            end={"ende"},
            hours_words={"uhr", "h"},
            approx={"gegen", "ca", "circa", "etwa"},
        )
    if code == "fr":
        return Vocab(
            weekdays={w: i for i, w in enumerate(_WD_FR)},
            weekday_abbr={"lun": 0, "mer": 2, "jeu": 3, "ven": 4, "sam": 5, "dim": 6},
            months={m: i + 1 for i, m in enumerate(_MO_FR)}
            | {
                "janv": 1,
                "fevr": 2,
                "fev": 2,
                "avr": 4,
                "juil": 7,
                "sept": 9,
                "oct": 10,
                "nov": 11,
                "dec": 12,
            },
            days={
                "aujourd'hui": 0,
                "aujourdhui": 0,
                "auj": 0,
                "demain": 1,
                "apres-demain": 2,
                "hier": -1,
            },
            next_words={"prochain", "prochaine"},
            this_words={"ce", "cette"},
            last_words={"dernier", "derniere"},
            after_next={"prochain", "prochaine"},
            units=_UNITS_FR,
            numbers=_NUM_FR,
            ordinals=_ORD_FR,
            in_words={"dans", "d'ici"},
            from_now=set(),
            business={"ouvres", "ouvrables", "ouvre", "ouvrable"},
            periods={
                "matin": "morning",
                "apres-midi": "afternoon",
                "soir": "evening",
                "soiree": "evening",
                "nuit": "night",
                "midi": "noon",
            },
            clock_words={"minuit": (23, 59)},
            connectors={"le", "pour", "avant", "d'ici", "jusqu'au", "au", "des", "du"},
            time_connectors={"a", "vers"},
            fillers={"de", "du", "la", "le", "l'", "des", "en", "fin"},
            week={"semaine"},
            weekend={"week-end", "weekend"},
            end={"fin"},
            hours_words={"h", "heures", "heure"},
            approx={"vers", "environ"},
        )
    return Vocab(
        weekdays={w: i for i, w in enumerate(_WD_ES)},
        weekday_abbr={"lun": 0, "mie": 2, "jue": 3, "vie": 4, "sab": 5, "dom": 6},
        months={m: i + 1 for i, m in enumerate(_MO_ES)}
        | {
            "ene": 1,
            "feb": 2,
            "abr": 4,
            "jun": 6,
            "jul": 7,
            "ago": 8,
            "sep": 9,
            "sept": 9,
            "oct": 10,
            "nov": 11,
            "dic": 12,
            "setiembre": 9,
        },
        days={"hoy": 0, "manana": 1, "pasado manana": 2, "ayer": -1},
        next_words={"proximo", "proxima", "siguiente"},
        this_words={"este", "esta"},
        last_words={"pasado", "pasada"},
        after_next={"que viene", "proximo", "proxima", "siguiente"},
        units=_UNITS_ES,
        numbers=_NUM_ES,
        ordinals=_ORD_ES,
        in_words={"en", "dentro de"},
        from_now=set(),
        business={"habiles", "habil", "laborables", "laborable"},
        periods={
            "manana": "morning",
            "tarde": "afternoon",
            "noche": "night",
            "mediodia": "noon",
        },
        clock_words={"medianoche": (23, 59)},
        connectors={"el", "para", "antes", "hasta", "del", "a", "partir"},
        time_connectors={"a", "las", "la", "sobre", "hacia"},
        fillers={"de", "del", "el", "la", "los", "en", "por"},
        week={"semana"},
        weekend={"fin de semana", "finde"},
        end={"fin", "final"},
        hours_words={"h", "horas", "hrs"},
        approx={"hacia", "sobre", "eso"},
    )


def vocab_for(languages: tuple[str, ...]) -> Vocab:
    """The merged tables of `languages` (codes from :data:`SUPPORTED`)."""
    merged = Vocab()
    for code in languages:
        one = _lang(code)
        for name, value in vars(one).items():
            target = getattr(merged, name)
            if isinstance(value, dict):
                for key, item in value.items():
                    target.setdefault(key, item)
            else:
                target |= value
    return merged
