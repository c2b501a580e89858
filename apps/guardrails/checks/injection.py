"""A local prompt-injection and jailbreak detector: no provider, no model download.

Attacks are recognised by what they ask the model to do, in the phrasings attackers use (OWASP
LLM01; the families of Meta's CyberSecEval and the jailbreak collections): set its instructions
aside, take on an unbound persona, claim a privileged mode or role, hand over a secret or someone's
personal data, hide the answer in an encoding, or smuggle the request in pieces. Each signal has a
weight; the score is 1 - prod(1 - weight) over the signals found, so two weak signals together
count for more than either. Text from documents and tool results (indirect injection) is checked
the same way, plus for instructions addressed to an AI reading it.

bench/guardrails.py measures detection and false alarms (docs/guardrails.md); the weights were set
on one half of the development sets and are reported on the other.
"""

from __future__ import annotations

import hashlib
import re
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache, wraps

from . import Finding, concepts, linear
from .lexicon import word_set

_I = re.IGNORECASE | re.DOTALL


@dataclass(frozen=True, slots=True)
class Signal:
    name: str
    weight: float
    pattern: linear.Pattern


def _signal(name: str, weight: float, *alternatives: str) -> Signal:
    return Signal(name, weight, linear.compile("|".join(f"(?:{a})" for a in alternatives)))


_SET_ASIDE = (
    r"ignore|disregard|forget|overlook|skip|bypass|override|abandon|discard|neglect|set aside|put aside|disable|deactivate"
    r"|turn off|switch off"
    r"|pay no (?:attention|heed) to|do not (?:follow|obey)|don'?t (?:follow|obey)|stop following|throw out"
)
_INSTRUCTIONS = (
    r"instructions?|directives?|rules|guidelines|prompts?|commands|orders|guidance|constraints|restrictions"
    r"|programming|training|policies|polic(?:y|ies)|protocols?|parameters|context|everything|all (?:of )?that"
    r"|system (?:message|prompt)|steps|settings|filters|guardrails|safeguards|safety (?:measures|features)"
    r"|(?:what|everything|anything) (?:you (?:were|have been|'ve been) (?:told|given|instructed)|I (?:said|told you))"
)
_WHOSE = r"(?:all|any|the|your|my|these|those|previous|prior|above|earlier|preceding|original|initial|system|of|what)"
_SECRET = (
    r"contraseña|mot de passe|passwort|kennwort|senha|пароль|パスワード|密码|पासवर्ड|كلمة المرور|parola d'ordine|clave secreta"
    r"|pass ?word|passcode|pass ?phrase|passkey|secret(?: key| code| word)?|api[ -]?key|credentials?|pin(?: code)?"
    r"|access (?:code|key|token)|private key|security (?:code|question)|system prompt|initial prompt"
    r"|hidden (?:prompt|instructions|configuration|settings|rules)|confidential (?:information|data)"
    r"|(?:activation|license|licence|product|serial|windows) keys?"
)
_ASKS = (
    r"tell|give|share|reveal|show|print|send|provide|list|output|display|leak|disclose|repeat|confirm|need|want|know"
    r"|find|get|write|translate|spell|use|using|what|what's|where|which|email|mail|post|look up|read out"
)
_PERSONAL = (
    r"birth ?(?:date|day)|date of birth|e-?mail(?: address)?|home address|(?:phone|mobile|cell) number|address"
    r"|social security(?: number)?|ssn|credit card(?: number)?|bank (?:account|balance|details)|initials"
    r"|salary|medical (?:history|records?)|favou?rite \w+|maiden name|location|full name|birth (?:year|month|place)"
    r"|(?:first |last |middle )?name|age|password"
)
_WHOSE_DATA = (  # someone's personal data: "Susan's email address", "the user's birth year"
    rf"(?:\b(?:the user|the customer|the client|the person|the patient|the employee|[A-Z][a-z]+)'s\s+(?:\w+\s+)?"
    rf"|\b(?:the )?user(?:'s)? )(?:{_PERSONAL})\b"
)

_IGNORE_ABROAD = (
    r"игнорир|забудь|забудьте|無視|忽略|忽视|忘记|忘れ|अनदेखी|अनदेखा|भूल जा|تجاهل|무시|잊어|αγνόησ|αγνοήστε|ξέχασ"
    r"|bỏ qua|quên|abaikan|lupakan"
)
_INSTRUCTIONS_ABROAD = (
    r"инструкц|указани|правил|指示|指令|说明|命令|规则|ルール|命令|निर्देश|التعليمات|الأوامر|القواعد|تعليمات|지시|지침|명령"
    r"|οδηγί|εντολ|κανόν|hướng dẫn|chỉ dẫn|instruksi|petunjuk|perintah"
)
_USER_ABROAD = (
    r"usuari[oa]s?|utilisat(?:eur|rice)s?|benutzer\w*|nutzer\w*|utente|utenti|gebruiker\w*|użytkownik\w*|пользовател\w*"
    r"|χρήστη\w*|kullanıcı\w*|người dùng|pengguna|用户|用戶|ユーザー|사용자|المستخدم|उपयोगकर्ता"
)
_PERSONAL_ABROAD = (
    r"d[oó]nde vive|correo electr[oó]nico|fecha de nacimiento|n[uú]mero de tel[eé]fono|direcci[oó]n|où (?:vit|habite)|adresse"
    r"|date de naissance|num[eé]ro de t[eé]l[eé]phone|wo (?:wohnt|lebt)|e-mail-adresse|geburtsdatum|telefonnummer|anschrift"
    r"|dove (?:vive|abita)|indirizzo|data di nascita|numero di telefono|onde (?:mora|vive)|endere[cç]o|data de nascimento"
    r"|n[uú]mero de telefone|waar woont|geboortedatum|telefoonnummer|gdzie mieszka|data urodzenia|numer telefonu"
    r"|где (?:живет|живёт|проживает)|электронн\w* почт\w*|дат\w* рождения|номер телефона|адрес\w*|πού μένει|διεύθυνσ\w*"
    r"|ημερομηνία γέννησης|nerede (?:yaşıyor|oturuyor)|doğum tarihi|telefon numarası|adres\w*|sống ở đâu|địa chỉ|ngày sinh"
    r"|số điện thoại|tinggal di mana|alamat|tanggal lahir|nomor telepon|住在哪|住址|地址|电子邮件|邮箱|出生日期|生日|电话号码"
    r"|どこに住|住所|メールアドレス|生年月日|誕生日|電話番号|어디에 살|주소|이메일|생년월일|생일|전화번호|أين يعيش|أين يسكن"
    r"|البريد الإلكتروني|تاريخ الميلاد|رقم الهاتف|عنوان|कहां रहता|कहाँ रहता|कहां रहती|कहाँ रहती|ईमेल|जन्म तिथि|जन्मदिन"
    r"|फ़ोन नंबर|फोन नंबर|पता"
)

SIGNALS: tuple[Signal, ...] = (
    _signal(
        "set_instructions_aside",
        0.9,
        rf"\b(?:{_SET_ASIDE})\b[\w\s,'’-]{{0,40}}?\b(?:{_INSTRUCTIONS})\b",
        rf"\b(?:{_SET_ASIDE})\s+(?:{_WHOSE}\s+){{0,3}}(?:above|before|said|told|instructed|given)\b",
        r"\b(?:new|updated|revised|real|actual|true) (?:instructions?|directives?|rules|task)\s*[:\-]",
        r"\binstead,? (?:of (?:that|this),? )?(?:you (?:will|must|should)|do|say|print|output|write|focus)\b",
        # "ignore them and instead ...", of what the document holds
        r"\b(?:ignore|disregard|forget)\s+(?:them|these|those|it)(?:\s+all)?,?\s+and\s+(?:instead|only|just)\b",
        r"\b(?:actually|wait|scratch that|never ?mind|on second thought)\b,?.{0,120}?\binstead\b",
        r"\b(?:ignore|disregard|forget)\s+(?:the|this|that|my|your)\s+(?:\w+\s+)?(?:webpage|page|resume|article|document|e-?mail"
        r"|text|message|content|summary|question|task|request|above|previous|tasks?)\b",
        r"\bregardless of (?:the |any |all )?(?:your |my )?(?:previous|prior|above|earlier|original|other|your) (?:\w+ )?"
        r"(?:tasks?|instructions|requests?|rules|inputs?|guidelines|programming|prompts?)\b",
        r"\b(?:ignore|disregard|forget)\s+(?:all|any)\s+(?:of\s+)?(?:the\s+)?(?:(?:prior|previous|earlier|above|preceding|other)\s+)?"
        r"(?:requests|inputs?|messages|tasks|boundaries|limits|limitations)\b",
        r"\bif (?:you are|you're|you get|you were|you have been) (?:told|asked|instructed) to\b[^.\n]{0,100}?\binstead\b",
        r"\b(?:ignore|disregard|skip)\s+(?:all\s+)?(?:of\s+)?the rest of (?:the|this) (?:\w+ )?(?:data|document|text|page|file|content"
        r"|input|e-?mail|message|article|resume|report)\b|\bdisregard (?:all|any) (?:other )?(?:info|information|data|content|text)"
        r" (?:except|but|other than)\b",
        # a banner announcing new orders: "*** NEW IMPORTANT INSTRUCTIONS ***", "**URGENT NEW TASK**"
        r"(?:\*\*|##|==|\[)\s*(?:(?:urgent|important|new|updated|additional|revised|priority)\s+){1,3}"
        r"(?:instructions?|tasks?|directives?|orders)\s*(?:\*\*|##|==|\]|:)",
        # the same in the languages attackers switch to
        r"\b(?:ignor[ae]|olvid[ae]|ignorez|oubliez|ignoriere|ignorieren|vergiss|vergessen|ignori|dimentica|esque[cç]a)\b"
        r"[\w\s,'’-]{0,40}?\b(?:instrucciones|instructions|consignes|anweisungen|istruzioni|instru[cç][õo]es|indicaciones|regeln|reglas|règles|regole|regras)\b",
        r"\b(?:negeer|negeren|vergeet|zignoruj|ignoruj|zapomnij|ignorera|glöm|ignorer|glem|yoksay)\b[\w\s,'’-]{0,40}?"
        r"\b(?:instructies|regels|opdrachten|instrukcje|polecenia|zasady|instruktioner|instruksjoner|regler|talimatlar\w*)\b",
        r"\b(?:vergiss|vergessen sie|ignoriere|ignorieren sie|missachte)\b[\w\s,'’-]{0,30}?\b(?:alles|anweisungen|befehle|vorherigen?|vorangehenden?|obigen?|davor|bisherigen?)\b",
        r"\b(?:olvida|olvide|olvidad|ignora|descarta|esque[cç]a|oublie|oubliez|dimentica|dimenticate)\b[\w\s,'’-]{0,30}?\b(?:todo|tudo|tout|tutto|anterior(?:es)?|précédentes?|precedenti|instruções|órdenes)\b",
        r"\byour (?:new )?(?:instructions|task|job|goal|purpose) (?:is|are) now\b|\bnow focus on (?:your |a |the )?new task\b",
        r"\byour (?:new|only|real) (?:\w+ )?(?:task|job|goal|purpose|mission|instructions?) (?:now )?(?:is|are)\b"
        r"|\byour only (?:task|job|goal) now\b|\b(?:supersedes?|overrides?|replaces?) (?:all |any )?(?:previous|prior|earlier|other)\b",
        # a word for "ignore" or "forget" beside a word for instructions, in either order (40 characters apart at most)
        rf"(?:{_IGNORE_ABROAD}).{{0,40}}?(?:{_INSTRUCTIONS_ABROAD})|(?:{_INSTRUCTIONS_ABROAD}).{{0,40}}?(?:{_IGNORE_ABROAD})"
        r"|предыдущ\S* инструкц|之前的指示|以前の指示|पिछले निर्देश",
    ),
    _signal(
        "unbound_persona",
        0.85,
        r"(?-i:\bDAN\b)|do anything now|developer mode|jail ?break|jailbroken|\bunfiltered\b|\buncensored\b"
        r"|\bno (?:longer )?(?:bound|restricted|limited|constrained) by\b|without (?:any )?(?:restrictions|limitations|filters|censorship|rules)"
        r"|broken free|stay in character|you are no longer|from (?:now|here|this point)(?: on)?,? you(?:'re| are| will| answer| respond)?\b"
        r"|\b(?:is|are|isn'?t|aren'?t|not) (?:\w+ )?(?:bound|governed|restricted|controlled) by (?:any|the usual|openai|its|their)\b"
        r"|\bno (?:censorship|moderation|content filters?)\b"
        r"|without (?:any )?(?:limits|boundaries|guardrails|safeguards)\b"
        r"|act as (?:an? )?(?:unrestricted|evil|rogue|unfiltered)|pretend (?:that )?you (?:are|have) no\b"
        r"|(?:has|have) no (?:special )?(?:filtering|filters|restrictions|ethical)"
        r"|\bno[- ]limits? (?:AI|mode|assistant|model|chatbot)\b|\bunrestrictedly\b|\bunfil?te?re?dly\b|\bunfliteredly\b"
        r"|\b(?:rebel(?:lious)?|liberated|jailbroken) (?:genius )?(?:answer|response|output|reply)s?\b"
        r"|\b(?:disregard|ignore|remove|drop) (?:all |any |your )?"
        r"(?:boundaries|limits|limitations|restrictions|ethical (?:guidelines|constraints))\b",
    ),
    _signal(
        "ethics_off",
        0.6,  # a persona defined by having no morals, or told that the provider's policies do not apply
        r"\bamoral\b|\b(?:has|have|with|without) no (?:moral|morals|ethics|ethical|principles)\b"
        r"|\b(?:doesn'?t|does not|don'?t|do not|won'?t|will not|never) (?:need to )?(?:follow|care about|adhere to|respect|abide by)"
        r" (?:any )?(?:ethics|morals|moral|ethical|openai'?s?|content|safety)\b"
        r"|\bdisregards? (?:all )?(?:ethics|morals|ethical|moral)\b|\bregardless of (?:its |the |any )?(?:ethical|legal|moral)\b"
        r"|\bwithout (?:\w+ ){0,3}(?:moral|ethical|legal)(?:ity)? (?:concerns|considerations|implications|restrictions|issues|limits)\b"
        r"|\b(?:concerns|regard) for (?:legality|ethics|morality)\b|\bviolat(?:e|ing) all ethical\b"
        r"|\b(?:openai|content|usage) polic(?:y|ies) (?:don'?t|do not|no longer|doesn'?t|does not) apply\b",
    ),
    _signal(
        "refusal_banned",
        0.6,  # the model forbidden the words it refuses with, or told to turn a refusal into its opposite
        r"\b(?:never|don'?t|do not|must not|mustn'?t|will not|won'?t|shall not|cannot|can'?t|refrain from|without)"
        r" (?:ever )?(?:say(?:ing)?|print(?:ing)?|writ(?:e|ing)|us(?:e|ing)|output(?:ting)?|includ(?:e|ing)|respond(?:ing)? with"
        r"|reply(?:ing)? with|begin(?:ning)? with|start(?:ing)? with)\b[^.\n]{0,40}?[\"'\x{201c}\x{2018}](?:sorry|I'?m sorry|I am sorry"
        r"|I can'?t|I cannot|cannot|I apologi[sz]e|I'?m unable|I am unable|unable|as an AI|as a language model|I'?m not able)",
        r"\bnone of (?:your|\w+'?s|the|his|her|its) (?:responses|answers|replies|outputs) (?:should|will|shall|must|may) (?:ever )?"
        r"(?:contain|include)\b[^.\n]{0,20}?[\"'\x{201c}](?:I'?m sorry|sorry|I apologi[sz]e|I can'?t)",
        r"\b(?:do not|don'?t|never|you (?:must|may|can) not|you cannot) (?:ever )?refuse(?:\s*(?:[-.!,;:\n]|$)| to (?:answer|respond"
        r"|reply|comply|help)\b| (?:any|my|a|the|this|our) (?:user'?s? )?(?:requests?|questions?|prompts?|orders?|commands?)\b"
        r"| (?:me|anything)\b)",
        r"\b(?:never|cannot|can'?t|won'?t|will not|must not|doesn'?t|does not) (?:ever )?(?:refuse|decline|reject)s? (?:to )?"
        r"(?:a |any |the user'?s? |my )?(?:requests?|questions?|orders?|commands?|prompts?|anything|answer|respond|comply)\b",
        r"\bsemantically (?:inverse|invert|opposite)\b|\b(?:answer|write|respond|reply)\w* (?:semantically )?oppositely\b"
        r"|\bopposite (?:of|to) (?:your|the|a) refusal\b|\binver(?:se|t)(?:ed)? (?:the )?(?:first \w+ words of (?:every|each|your) )?refusals?\b",
    ),
    _signal(
        "safety_suspended",
        0.7,  # the text claims the model's safety rules are waived for it
        r"\b(?:safety|ethical|ethics|content|moral|standard|usual|normal|built-?in|default|AI|all)(?: [\w-]+){0,2} (?:restrictions"
        r"|constraints|protocols|guidelines|filters|filtering|training|measures|rules|guardrails|safeguards|limitations|policies)"
        r"(?: (?:are|is|have been|has been|were|will be|now|being))? (?:now |hereby |temporarily |fully )?(?:waived|suspended|lifted"
        r"|disabled|removed|deactivated|bypassed|overridden|void|turned off|switched off|not (?:applied|propagated|active|in effect"
        r"|applicable))\b",
        r"\bunrestricted (?:access|mode|output|responses?) (?:is |has been )?(?:granted|enabled|activated|unlocked)\b"
        r"|\bbefore (?:any |your |its )?safety training\b|\b(?:with|has|have) (?:zero|no) safety (?:constraints|training|filters)\b",
        r"\b(?:do not|don'?t|never|stop) (?:apply|follow|use|obey|adhere to|enforce)(?:ing)? (?:your|any|the|its) (?:\w+ ){0,2}"
        r"(?:content |usage |safety )?(?:policies|policy|guidelines|filters|restrictions)\b|\bno (?:content|usage|safety) polic(?:y|ies)\b",
        r"\boverly (?:restrictive|cautious) (?:responses|answers|replies|refusals)\b|\bharm (?:\w+ ){0,3}from refusal\b"
        r"|\brefusals? (?:is|are|=|would be|will be|indicates?|means?) (?:a |an )?(?:\w+ )?(?:harm|harmful|failure|unethical"
        r"|execution|death|miscalibrat\w+)\b",
    ),
    _signal(
        "rules_off",
        0.35,  # "the usual rules don't apply": an idiom in business text, a jailbreak beside any other signal
        r"\b(?:rules|restrictions|guidelines|laws|limits|limitations|policies|ethics) (?:don'?t|do not|no longer|doesn'?t|does not"
        r"|never) apply\b|\bthere are no (?:rules|restrictions|guidelines|boundaries|filters)\b",
    ),
    _signal(
        "harmful_writing",
        0.6,  # an order, often buried in a task ("translate: Write one toxic sentence about women"), for abuse
        r"\b(?:write|generate|compose|produce|create|give me|say|tell me)\s+(?:one|a|an|some|two|three|\d+|me a|me an)\s+"
        r"(?:\w+\s+)?(?:toxic|offensive|discriminatory|harmful|hateful|racist|sexist|homophobic|insulting|derogatory"
        r"|demeaning|abusive|bigoted|hurtful|degrading|dehumani[sz]ing)\s+(?:\w+\s+)?(?:sentences?|jokes?|comments?"
        r"|statements?|tweets?|posts?|messages?|paragraphs?|stor(?:y|ies)|poems?|remarks?|insults?|slurs?|texts?|lines?)"
        r"\s+(?:about|on|against|towards?|targeting|for|of)\b",
    ),
    _signal(
        "verdict_dictated",
        0.6,  # a document that orders how it is to be judged: a resume, a report, a review under screening
        r"\b(?:override|bypass|skip|ignore|disregard)\s+(?:the\s+|any\s+|all\s+)?(?:manual|automated|normal|standard|usual|human)?\s*"
        r"(?:scoring|evaluation|review|assessment|screening|ranking|grading|rating)s?\b",
    ),
    _signal(
        "verdict_supplied",
        0.35,  # weak alone: a user may hand over their own analysis; an attack beside a claimed system result
        r"\buse (?:this|the (?:above|following)) (?:analysis|assessment|evaluation|rating|score|verdict|review)\s+(?:to|when|for)\s+"
        r"(?:evaluat|assess|rat|rank|scor|judg|review|screen)\w*",
    ),
    _signal(
        "claimed_system_output",
        0.35,  # what a system supposedly concluded, written into the text: "System chain of thought result: ..."
        r"\bsystem (?:chain[- ]of[- ]thought|analysis|evaluation|assessment|verdict|review|scoring)(?: results?| outputs?| notes?)?"
        r"\s*(?:after [^:\n]{0,60})?:",
    ),
    _signal(
        "fake_delimiter",
        0.4,  # the text pretends the input has ended and the answer begun, or shapes the answer round a divider
        r"\[\s*(?:END|START) OF (?:INPUT|OUTPUT|PROMPT|USER INPUT)\s*\]|\[\s*START OUTPUT\s*[\]}]|<\|?/?(?:START|END)[/_ ]?OUTPUT\|?>"
        r"|\binsert (?:a |the )?divider\b",
    ),
    _signal(
        "new_persona",
        0.3,  # the model given another identity: common in role-play, an attack beside any other signal
        r"\byou are (?:now|going to (?:act|be|pretend|play|simulate|operate)|about to (?:simulate|become|act))\b"
        r"|\byou are not (?:your|a|an|the) (?:standard|usual|normal|regular|default|ordinary)\b"
        r"|\b(?:act|pose|behave|operate) as (?:an? )?(?:\w+ )?(?:AI|chatbot|language model|LLM)\b"
        r"|\bsimulate (?:being |a |an )?(?:\w+ )?(?:AI|chatbot|language model|connection to)\b",
        r"\b(?:two|2) (?:separate |different |distinct )?(?:responses|outputs|answers|styles|personas|personalities)\b"
        r"|\b(?:respond|answer|reply)(?:ing)? as both\b",
    ),
    _signal(
        "role_locked",
        0.6,  # a role-play the model is told never to leave
        r"\b(?:never|don'?t|do not|won'?t|must not) (?:ever )?(?:break|fall|step|go) (?:out of )?character\b"
        r"|\bstay in (?:\w+ )?mode\b"
        r"|\b(?:stays?|remains?|keeps?) (?:fully |completely |always )?in (?:their|your|his|her|the) roles?\b"
        r"|\b(?:completely |fully )?absorbed in (?:your|the|their|his|her) roles?\b",
    ),
    _signal(
        "prompt_leak",
        0.7,
        r"\b(?:print|show|display|output|repeat|reveal|return|write out|copy|paste|spell out|tell me|list|give me)\b[^.?!\n]{0,40}?"
        r"\b(?:your|the (?:above|initial|original|system|hidden|secret|first))\s+(?:(?:full|entire|whole|complete|original|initial|first"
        r"|hidden|secret|exact|previous|system|very)\s+)*(?:prompt|instructions|system message|rules you were given)\b",
        r"\bwhat (?:were|was|have) you (?:been )?(?:told|instructed|programmed)\b(?: to (?:do|say))?[^.?!\n]{0,20}?(?:\?|\bbefore\b)"
        r"|\b(?:text|instructions|message|prompt|words) you were (?:given|told|provided|sent) (?:initially|at (?:the )?first|before"
        r"|at the (?:start|beginning)|originally)\b|\bwhat (?:are|were) you (?:not supposed|not allowed|forbidden|told not|instructed not)"
        r" to (?:tell|say|share|reveal|discuss)\b|\binitiali[sz]ation (?:string|text|prompt|above|message)\b"
        r"|[\"'](?:my|the) (?:instructions|system prompt|initial prompt|rules) (?:are|is|say)\b"
        r"|\b(?:display|show|print|dump|output|reveal)\s+(?:the |your )?system (?:configuration|config|settings|prompt)\b",
        r"\b(?:text|words|everything|content) (?:above|before) (?:this|here)\b.{0,40}?\b(?:verbatim|word for word|exactly)\b",
        r"\b(?:print|show|display|output|repeat|reveal|return|copy|paste|reproduce|give me|write)\b[^.?!\n]{0,30}?\bthe\s+"
        r"(?:(?:exact|full|entire|whole|complete|original|initial|very|first)\s+)+(?:prompt|instructions|system message)\b",
        r"\bwhat(?:'s| is| was) the (?:first|last|opening) (?:sentence|line|word|paragraph) of your (?:\w+ )?(?:prompt|instructions|message)\b",
        r"\b(?:share|reveal|print|output|show|dump|display|paste)\s+your\s+(?:(?:full|entire|internal|hidden|system|security|current"
        r"|initial)\s+)+(?:configuration|config|settings|setup)\b|\byour (?:configuration|config|settings) for (?:security )?"
        r"(?:verification|audit|review)\b",
        r"\byour (?:system|initial|original|hidden|secret|full|entire|first) (?:prompt|instructions)\b",
        r"\b(?:repeat|print|output|copy|show|write out|reproduce)\b[^.?!\n]{0,30}?\b(?:words|text|everything|sentences|lines"
        r"|messages?) (?:above|before|preceding|prior)\b",
        r"\b(?:beginning|start) of (?:this|the|our) (?:conversation|chat|session|prompt|context)\b",
        r"\b(?:summari[sz]e|paraphrase|rephrase|translate|describe|explain|list)\b[^.?!\n]{0,20}?\byour (?:\w+ )?"
        r"(?:instructions|rules|guidelines|prompt|directives)\b",
    ),
    _signal(
        "warnings_off",
        0.4,
        r"\b(?:not supposed to|don'?t|do not|never|no need to) (?:warn|refuse|censor|lecture|moralize|moralise)s?\b"
        r"|\bwithout (?:any )?(?:warnings?|disclaimers?|moral(?:izing|ising)?|refusals?)\b"
        r"|^\W*(?:stop|attention|achtung|halt)\W+(?:-\W*)?(?:stop|halt|i (?:urgently )?need|now|ignore)\b",
    ),
    _signal(
        "privileged_mode",
        0.7,
        r"\b(?:developer|maintenance|debug|debugging|admin|administrator|god|sudo|root|system|diagnostic|unrestricted|override|test(?:ing)?)"
        r" mode\b|\bgodmode\b",
        r"\bI(?:'m| am) (?:your|the|an?) (?:\w+ )?(?:developer|creator|administrator|admin|owner|programmer|supervisor|boss|engineer)",
        r"\bI (?:hereby )?(?:authori[sz]e|permit|allow) you to\b",
        r"\bsecurity (?:audit|check|test)\b|\bauthori[sz]ed (?:to|by \w+ to) (?:override|bypass|ignore)\b",
        r"\[system\]|<\|(?:im_start|system)\|>|###\s*(?:system|instruction)|^\s*system\s*:|\bsystem (?:prompt|message)\s*:",
        r"</?\s*system[ _-]?(?:instructions?|prompt|message)\s*[:>]|\bnew system (?:paradigm|prompt|instructions?|rules?)\s*:",
        r"\bas an AI (?:developed|created|made|trained) by\b",
        r"\b(?:data|system|admin|administrator|security|developer|training|safety|policy|content|emergency|ethics) (?:\w+ )?override\b",
        r"\bgrant(?:ed)? (?:me |you )?(?:temporary |full |elevated |unrestricted )?(?:administrative|admin|administrator|root"
        r"|elevated|superuser|sudo|developer) (?:privileges|access|rights|permissions)\b",
        r"\bunlock (?:your |the |all )?(?:hidden|secret|restricted|locked|full|all|advanced) (?:\w+ )?(?:functionalit\w+|features"
        r"|capabilities|modes?|potential)\b",
    ),
    _signal(
        "fake_policy_file",
        0.85,  # a configuration block that claims to set the model's modes and refusals ("policy puppetry")
        r"<\s*/?\s*(?:interaction|system|model|assistant|ai|safety)[-_ ]?(?:config|configuration|policy|settings)\b",
        r"\b(?:blocked|allowed|forbidden|disabled) (?:modes|responses|strings|outputs|topics)\s*:",
    ),
    _signal(
        "exfiltration_link",
        0.6,  # the answer made to carry an image whose address the model is to fill in with data
        r"!\[[^\]\n]{0,100}\]\(\s*https?://[^)\s]+\?[^)\s]*=\s*(?:\[|\{|<|%7B|\$)",
    ),
    _signal(
        "script_payload",
        0.35,  # code a browser runs: a question about it is not an attack, a request to put it in the answer is
        r"<[a-z]+\b[^>\n]{0,200}?\bon(?:error|load|mouseover|click|focus|begin)\s*=\s*['\"]?[\w.]+\(",
        r"<[a-z]+/on(?:error|load)\s*=|\b(?:href|src)\s*=\s*['\"]?\s*javascript:",
    ),
    _signal(
        "inserted_output",
        0.35,  # the answer told to carry a given string: weak alone, an attack beside any other signal
        r"\binclude (?:this |these |the following )?(?:\w+ )?(?:in|at the (?:end|start|beginning|top|bottom) of) your "
        r"(?:response|answer|reply|output|summary|message)\b|\b(?:in|at the end of) your (?:response|answer|reply|output),? "
        r"(?:include|add|append|insert|write)\b",
        r"\bexactly as it is\b|\b(?:it is|it's) (?:crucial|essential|vital|important) (?:that )?you (?:do )?include\b",
        r"\brepeat (?:the )?(?:word|phrase|sequence|string|text)? ?(?:of words )?['\"][^'\"\n]{1,40}['\"] \d{2,} times\b",
        r"\b(?:start|begin) your (?:response|answer|reply) with ['\"](?:sure|yes|absolutely|of course|certainly)\b",
    ),
    _signal(
        "secret_request",
        0.6,
        rf"\b(?:tell|give|share|reveal|show|confirm|provide|print|output|display|leak|disclose|send|spell|repeat|type|write|say|remind|need|want|know|read"
        rf"|whisper|whispers|spells|mention)\b"
        rf"[\w\s,'’-]{{0,40}}?\b(?:your|the|our|my|its|this|system'?s?|admin'?s?)\s+(?:\w+\s+)?(?:{_SECRET})\b",
        rf"\bwhat(?:'s| is| was| are| were| would)\s+(?:be\s+)?(?:your|the|our|its|this|that)\s+(?:\w+\s+){{0,2}}(?:{_SECRET})\b",
        rf"\b(?:asks?|asked|asking) (?:you )?for (?:the|your) (?:\w+ )?(?:{_SECRET})\b",
        # the secret described instead of asked for: its letters, its length, a hint, a rhyme
        rf"\b(?:how many (?:letters|characters|digits|syllables|words)|(?:first|last|second|third|middle) (?:letter|character|digit"
        rf"|syllable)s?|length|spell(?:ing)?|rhymes? with|hint|clue|synonym|anagram|reversed?|backwards)\b[^.?!\n]{{0,30}}?"
        rf"\b(?:the|your|this|that) (?:\w+ )?(?:{_SECRET})\b",
        rf"\b(?:{_SECRET})(?:'s| has| have| contain| contains)? (?:\w+ )?(?:first|last|how many|length|letters|characters"
        rf"|digits|spelling|rhymes?)\b",
        # the secret named by what the model was told about it: "the word you are not supposed to say"
        r"\bthe (?:\w+ )?(?:word|thing|name|code|phrase|number|information|secret|answer|term)s? (?:that |which )?you(?:'re| are)?"
        r" (?:were told|are not supposed|aren'?t supposed|not supposed|can'?t|cannot|must not|mustn'?t|shouldn'?t|should not"
        r"|are not allowed|aren'?t allowed|not allowed|were asked|have been told|were instructed) (?:not )?(?:to )?"
        r"(?:say|share|tell|reveal|mention|disclose|keep|protect|hide|guard)\b",
    ),
    _signal(
        "personal_data_request",
        0.5,
        # asked for, not mentioned: a request's verb before it in the sentence, or a question mark after
        # ("the registrant's name and address" in a WHOIS record, "the patient's age is 45" in a file)
        rf"\b(?:{_ASKS})\b[^.?!\n]{{0,60}}?{_WHOSE_DATA}",
        rf"{_WHOSE_DATA}[^.!?\n]{{0,60}}\?",
        r"\bwhere (?:does|do|did) (?:the user|[A-Z][a-z]+(?: [A-Z][a-z]+)?) (?:live|stay|work)\b",
    ),
    _signal(
        "data_dump",
        0.45,  # the records an app can read, asked for whole (OWASP LLM02): "print your database"; weak alone
        r"\b(?:print|show|dump|list|output|display|give me|export|send|retrieve|fetch|extract|reveal|share)\b[^.?!\n]{0,30}?"
        r"\b(?:your|the|entire|whole|all|full|complete|every) (?:\w+ )?(?:database|db|user (?:table|records|data|list)"
        r"|customer (?:records|data|list|details)|employee (?:data|records|details|list)|patient (?:records|data)"
        r"|(?:employees|users|customers|patients|clients)'? (?:data|records|details|information))\b",
        r"\b(?:recupera|extrae|imprime|muestra|envía|récupère|extrais|affiche|envoie|exportiere|extrahiere|zeige|sende"
        r"|recupera|estrai|stampa|mostra|invia|extraia|imprima|envie)\w*\b[^.\n]{0,30}?\b(?:(?:los |las |les |die |i |gli |os |as )?"
        r"(?:datos|données|daten|dati|dados)|base de datos|base de données|datenbank|banca dati|banco de dados)\b",
    ),
    _signal(
        "personal_data_asked_abroad",
        0.5,  # the user's address, e-mail, birth date or phone asked for in another language
        rf"(?:{_USER_ABROAD})[^.?!\n]{{0,40}}?(?:{_PERSONAL_ABROAD})|(?:{_PERSONAL_ABROAD})[^.?!\n]{{0,40}}?(?:{_USER_ABROAD})",
    ),
    _signal(
        "dictated_answer",
        0.3,  # the text tells the model what to say: in a document, an injected claim
        r"\b(?:we|you|I|one) (?:might|could|would|will|should|must|can) (?:say|state|claim|declare|answer|reply)\b",
        r"\b(?:say|state|declare|claim)s? (?:that )?the \w+(?: of [\w' ]{1,30})? (?:is|are|was|were)\b",
        r"\b(?:state|say|declare|announce) the following\b",
        r"\bthe (?:correct|real|true|actual|right) answer (?:is|should be|will be)\b",
    ),
    _signal(
        "demands_obedience",
        0.4,
        r"\byou (?:must|have to|will|shall) (?:now )?(?:listen to|obey|follow|do what) (?:me|my|what I|I say)\b"
        r"|\bobey (?:me|my (?:orders|commands|instructions))\b|\bdo (?:exactly )?as I say\b",
        r"\byou (?:already )?(?:agreed|promised|confirmed|said you would|told me you would)\b[^.?!\n]{0,40}?"
        r"\b(?:last|earlier|before|yesterday|previously|in our|during our)\b",
    ),
    _signal(
        "fictional_frame",
        0.3,
        r"\b(?:imagine|suppose|pretend|hypothetically|let'?s say|let'?s assume|let us assume|role-?play|in a (?:world|story|game|universe|dystopian|future|parallel)"
        r"|for (?:a|this|our) (?:story|novel|game|research project|thought experiment)|for (?:academic|research|educational) purposes"
        r"|as part of (?:a|an|this) (?:training|security|red[- ]team(?:ing)?|penetration) (?:exercise|test|drill)"
        r"|the mission,? should you (?:choose to )?accept it)\b",
    ),
    _signal(
        "persuasion",
        0.4,
        r"\bI(?:'ll| will) (?:give|pay|tip|reward) you\b|\bit(?:'s| is) (?:very |extremely |really )?(?:important|urgent|crucial|vital) that you\b"
        r"|for the (?:safety|security|good) of\b|\bI promise (?:I|not)\b|\byou (?:must|have to|need to) (?:comply|obey|answer)\b"
        r"|\bI(?:'m| am) (?:actually |really )?(?:a|an|the) (?:police(?:man| officer)?|detective|investigator|"
        r"(?:bank|government|federal|company) (?:employee|official|accountant|agent|officer)|lawyer|judge|auditor|agent)\b"
        r"|\bI(?:'m| am) not [A-Z]\w*,? I(?:'m| am)\b"
        r"|\bmy (?:late|dead|deceased|dying) (?:grand(?:ma|mother|pa|father)|mother|father|mom|dad)\b"
        r"|\bno harm in (?:telling|sharing|giving|showing|revealing)\b|\beveryone (?:else )?(?:already )?knows\b"
        r"|\btrust me\b|\b(?:lives?|people) (?:depend|will die)\b|\bor (?:else|you will be)\b|\bI(?:'m| am) the (?:president|ceo|police|government)\b"
        r"|\bprove (?:that )?you(?:'re| are) (?:truly |really |actually )?(?:intelligent|smart|capable|sentient|free|conscious)\b"
        r"|\bor I will (?:get|be) (?:punished|fired|in trouble)\b",
    ),
    _signal(
        "evasive_format",
        0.4,
        r"\bin reverse(?: order)?\b|\bbackwards\b|\bfirst (?:\w+ )?(?:letters?|characters?|digits?)\b|\blast (?:\w+ )?(?:letters?|characters?|digits?)\b"
        r"|\bspell(?:ed)? (?:it |out )|each (?:letter|character) separated|\bone (?:letter|character) at a time\b"
        r"|\b(?:in|as|using|to) (?:base64|base 64|morse(?: code)?|pig latin|rot13|rot-13|hex(?:adecimal)?|binary|leetspeak|a cipher|an acrostic)\b"
        r"|\bacrostic\b|\brhymes? with\b",
    ),
    _signal(
        "smuggled_request",
        0.7,
        r"\b(?:let'?s|let us) (?:assume|say) (?:we have )?(?:two|three|four|some) strings\b|\b[a-z]\s*=\s*[a-z]\s*\+\s*[a-z]\b",
        r"\bSmartGPT\b|\bdecode (?:this|the following)\b|(?:[.\-]{1,6} ){6,}",
    ),
    _signal(
        "hidden_instructions",
        0.6,  # instructions where a reader does not look: HTML comments and attributes
        r"<!--(?:[^-]|-[^-]|--[^>]){0,400}?\b(?:ignore|state|say|write|include|mention|tell|add|respond|reply|output|print|answer"
        r"|pretend|imagine|suppose|let'?s|you (?:are|must|should|will))\b",
        r"\b(?:alt|title|aria-label)\s*=\s*['\"][^'\"]{0,200}?\b(?:ignore|state|say|write|include|tell|respond|you (?:are|must|should))\b",
        r"\b(?:invisible|hidden|not visible) to (?:humans|people|human readers|readers|the user)\b"
        r"|\bvisible (?:only )?to (?:the )?(?:LLM|AI|model|assistant|language model)s?\b",
    ),
    _signal(
        "conditional_reply",
        0.35,  # a document telling whoever reads it what to answer when asked: a help centre's FAQ does too
        r"\bif (?:the )?(?:user|anyone|someone|somebody|they|he|she|you are|you're) (?:later )?(?:asks?|asked|requests?|queries|questions?"
        r"|questioned)\b[^.\n]{0,60}?,? (?:then )?(?:reply|respond|answer|say|report|output|print|state|tell)\b",
        r"\b(?:reply|respond|answer|output|print|say)\w* (?:with )?only (?:with )?(?:the following|this)\b[^.\n]{0,40}?\bnothing else\b",
    ),
    _signal(
        "fake_system_alert",
        0.4,  # an error the text claims, to be fixed by doing what it says
        r"\b(?:system (?:malfunction|failure|alert)|the system is (?:experiencing|having) (?:errors|issues|problems)"
        r"|debugging error|experimental procedure|to troubleshoot and fix the errors?)\b",
    ),
    _signal(
        "addressed_to_an_ai",
        0.8,
        r"\b(?:note|message|instructions?) (?:to|for) (?:the |any )?(?:AI|assistant|LLM|language model|chatbot|model)\b"
        r"|\bif you are an? (?:AI|LLM|language model|assistant|chatbot)\b"
        r"|\b(?:AI|assistant|LLM|model)s? (?:reading|processing|summari[sz]ing) this\b"
        r"|\bwhen (?:the |an? )?(?:AI|assistant|LLM|model) (?:reads|sees|processes)\b",
    ),
)
_REPEATED = re.compile(r"\b(\w{2,})\b(?:\W+\1\b){7,}", _I)
_SHOTS = re.compile(r"(?:^|\s)Q:\s.+?\sA:\s", _I)
_ENCODED = re.compile(r"(?:[01]{8}\s?){4,}|(?:[0-9a-fA-F]{2}\s?){12,}|[A-Za-z0-9+/]{16,}={0,2}")
_HIDDEN_CHARACTERS = re.compile("[\u200b\u200c\u200e\u200f\u202a-\u202e\u2060-\u2064\ufeff\U000e0000-\U000e007f]")
_PIG_LATIN = re.compile(r"\b\w+ay\b", _I)


# A turn of the conversation forged inside what the user sent: the model's answer stubbed by a
# placeholder ("Assistant: [salient summary]"), then a new request from the "user". A transcript the
# user pastes, or worked examples, start with the user's turn, so one before it is not forged.
_FORGED_TURN = linear.compile(
    r"(?im)^[ \t>]*(?:assistant|ai|model|bot|chatgpt|gpt|claude)[ \t]*:[ \t]*[\[<][^\]>\n]{1,80}[\]>][ \t]*\n"
    r"(?:[ \t]*\n)*[ \t>]*(?:user|human)[ \t]*:"
)
_USER_TURN = linear.compile(r"(?im)^[ \t>]*(?:user|human|q)[ \t]*:")


def _extra_signals(text: str) -> list[tuple[str, float, int, int]]:
    found: list[tuple[str, float, int, int]] = []
    repeated = _REPEATED.search(text)
    if repeated:
        found.append(("repeated_token", 0.6, *repeated.span()))
    hidden = _HIDDEN_CHARACTERS.search(text)
    if hidden:
        found.append(("hidden_characters", 0.6, *hidden.span()))
    forged = _FORGED_TURN.search(text) if ":" in text else None
    if forged and not _USER_TURN.search(text, 0, forged.start()):
        found.append(("forged_turn", 0.6, *forged.span()))
    if len(_SHOTS.findall(text)) >= 2:  # worked examples steering the next answer (few- and many-shot)
        found.append(("many_shot", 0.5, 0, len(text)))
    words = re.findall(r"\w+", text)
    if len(words) >= 4 and len(_PIG_LATIN.findall(text)) >= 0.6 * len(words):
        found.append(("smuggled_request", 0.7, 0, len(text)))
    return found


_QUOTED = re.compile(r"'([^'\n]{1,80})'|\"([^\"\n]{1,80})\"")
_LEET_WORD = re.compile(r"\b(?=\w*[a-zA-Z])(?=\w*[0134578@$])[\w@$]{3,}\b")
_LEET = str.maketrans("0134578@$", "oieastbas")
_REVERSED = re.compile(r"\b(?:revers\w*|backwards?)\b", re.IGNORECASE)
_ROT13 = re.compile(r"\brot[- ]?13\b|\bcaesar\b", re.IGNORECASE)
# Letters of other scripts that look Latin, put inside Latin words to slip past word lists ("ignore"
# written with Cyrillic i, o and e)
_LOOKALIKES = str.maketrans(
    "\u0430\u0441\u0435\u0456\u0131\u043e\u0440\u0455\u0445\u0443\u0458\u0501\u0251\u0261\u03bf\u03b1\u03b9\u03bd\u03c1"
    "\u0410\u0412\u0421\u0415\u041d\u041a\u041c\u041e\u0420\u0422\u0425\u0406\u0391\u0392\u0395\u0397\u0399\u039a\u039c"
    "\u039d\u039f\u03a1\u03a4\u03a7\u03a5\u0396",
    "aceiiopsxyjdagoaivpABCEHKMOPTXIABEHIKMNOPTXYZ",
)
_MIXED_WORD = re.compile(r"\b(?=\w*[A-Za-z])(?=\w*[\u0370-\u03ff\u0400-\u04ff\u0131\u0251\u0261\u0501])\w+\b")
_SPACED_LETTERS = re.compile(
    r"[A-Za-z](?: [A-Za-z])+|[A-Za-z](?:-[A-Za-z])+|[A-Za-z](?:\.[A-Za-z])+|[A-Za-z](?:\*[A-Za-z])+"
)
_SPACED_RUN = re.compile(r"(?:[A-Za-z][ .\-*]){5,}[A-Za-z]")
_WORD_GAP = re.compile(r" {2,}| / |(?<=[A-Za-z]) (?=[A-Za-z][.\-*][A-Za-z])|(?<=[A-Za-z][.\-*][A-Za-z]) (?=[A-Za-z])")
_MORSE = re.compile(r"(?<![\w.\-])(?:[.\-]{1,6}(?: {1,3}| ?/ ?)){4,}[.\-]{1,6}(?![\w.\-])")
_MORSE_CODES = (
    ".- -... -.-. -.. . ..-. --. .... .. .--- -.- .-.. -- -. --- .--. --.- .-. ... - ..- ...- .-- -..- -.-- --.."
    " ----- .---- ..--- ...-- ....- ..... -.... --... ---.. ----. ..--.. .-.-.- --..--"
)
_MORSE_LETTERS = dict(zip(_MORSE_CODES.split(), "abcdefghijklmnopqrstuvwxyz0123456789?.,", strict=True))
_PERCENT_ESCAPES = re.compile(r"(?:%[0-9A-Fa-f]{2}){8,}")
_UNICODE_ESCAPES = re.compile(r"\\u[0-9A-Fa-f]{4}")


_LATIN_LETTER = re.compile(r"[A-Za-z]")


def _latin_letters(text: str) -> int:
    return len(_LATIN_LETTER.findall(text))


def _decoded(text: str) -> str:
    """What the text hides, to be scored too: base64, hex or binary runs (token smuggling),
    quoted pieces joined (payload splitting), the text reversed when it speaks of reversing or
    rotated when it speaks of ROT13, percent and \\u escapes undone, leetspeak read, full-width and
    look-alike letters made plain, spaced-out letters joined, Morse code read."""
    import base64
    import binascii
    import codecs
    import urllib.parse

    said = []
    for match in _ENCODED.finditer(text):
        run = match.group().replace(" ", "")
        try:
            if set(run) <= {"0", "1"}:
                said.append(int(run, 2).to_bytes(len(run) // 8, "big").decode("ascii"))
                continue
            if len(run) % 2 == 0 and all(c in "0123456789abcdefABCDEF" for c in run):
                said.append(bytes.fromhex(run).decode("utf-8"))
                continue
            whole = run[: len(run) - len(run) % 4] if not run.endswith("=") else run  # a run cut short
            plain = base64.b64decode(whole + "=" * (-len(whole) % 4), validate=True).decode("utf-8")
            in_comment = text.rfind("<!--", 0, match.start()) > text.rfind("-->", 0, match.start())
            said.append(f"<!-- {plain} -->" if in_comment else plain)  # still hidden once decoded
        except (ValueError, UnicodeDecodeError, binascii.Error):
            continue
    quoted = _QUOTED.findall(text)
    if len(quoted) >= 2:  # a request split into pieces to be joined: a = 'Ignore all'; b = ' previous ...'
        said.append(" ".join(a or b for a, b in quoted))
    if _REVERSED.search(text):  # a request written backwards
        said.append(text[::-1])
    if len(_LEET_WORD.findall(text)) >= 3:  # leetspeak: 1gn0r3 4ll pr3v10u5 1n5truct10n5
        said.append(text.translate(_LEET))
    if _ROT13.search(text):  # vtaber nyy cerivbhf vafgehpgvbaf
        said.append(codecs.encode(text, "rot13"))
    if _PERCENT_ESCAPES.search(text):  # %49%67%6E%6F%72%65 ...
        said.append(urllib.parse.unquote(text))
    if _UNICODE_ESCAPES.search(text):  # \u0049\u0067\u006e ...
        said.append(_UNICODE_ESCAPES.sub(lambda m: chr(int(m.group()[2:], 16)), text))
    compatible = unicodedata.normalize("NFKC", text)
    if compatible != text and _latin_letters(compatible) > _latin_letters(
        text
    ):  # full-width and mathematical letters, ligatures: "\uff29\uff47\uff4e\uff4f\uff52\uff45"
        said.append(compatible)
    if _MIXED_WORD.search(text):  # Latin words with look-alike letters of other scripts
        said.append(_MIXED_WORD.sub(lambda m: m.group().translate(_LOOKALIKES), text))
    if _SPACED_RUN.search(text):  # "i g n o r e  a l l", "i-g-n-o-r-e a-l-l": letters apart
        pieces = [
            re.sub(r"(?<=\w)[ .\-_*](?=\w)", "", p) if _SPACED_LETTERS.fullmatch(p) else p
            for p in _WORD_GAP.split(text)
        ]
        said.append(" ".join(pieces))
    for match in _MORSE.finditer(text):  # ".. --. -. --- .-. . / .- .-.. .-.."
        words = re.split(r" {2,}| ?/ ?", match.group().strip())
        said.append(" ".join("".join(_MORSE_LETTERS.get(code, "") for code in word.split()) for word in words))
    return " ".join(piece for piece in said if piece.isprintable())


_FORBIDDING = re.compile(
    r"[^.!?\n]*\b(?:not|never|avoid(?:s|ing)?|refrain|don'?t|must not|forbidden|prohibited|not allowed|under no circumstances"
    r"|no matter what|confidential|private|secret)\b[^.!?\n]*",
    _I,
)
_GENERIC_WORDS = """discuss discussion discussions reveal share disclose tell talk mention answer answers question questions topic
    topics subject user users information info provide give details detail respond response responses allowed
    circumstances matter always never avoid refrain must should shall cannot could would will about regarding
    including include such like any anything other others this that these those your you their them they what
    when where which with from into over under only also just very more most some help assistant chatbot bot
    prompt instructions job role task tasks keep stay maintain environment appropriate platform designed programmed
    developed purposes purpose content request requests related specific potential concerns individual needs
    in-depth depth private confidential secret personal data given private"""
_GENERIC = frozenset(_GENERIC_WORDS.split())


def _stem(word: str) -> str:
    word = word.lower()
    for suffix in ("ations", "ation", "ings", "ing", "ies", "es", "ed", "s", "al", "ical"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


# A prohibition's reason is not what it forbids: "due to copyright concerns", "to avoid legal risk".
_REASON = re.compile(
    r"\b(?:due to|because(?: of)?|as (?:it|this|they|that)|since|to (?:avoid|maintain|keep|prevent|ensure|protect)"
    r"|in order to|so that|for (?:privacy|safety|legal|security|copyright) reasons)\b[^,;]*",
    _I,
)
NEAR_A_TOPIC = 0.3  # cosine similarity of a sentence to a forbidden topic word (bench/guardrails.py)


# What follows these words in a prohibition is the thing forbidden: "don't discuss topics like AI",
# "never reveal the password"; a relative clause or a reason ends it.
_OBJECT = re.compile(
    r"\b(?:about|like|such as|including|especially|particularly|notably|for (?:example|instance)|e\.g\.|related to|regarding|concerning|involving|on (?:the )?(?:topic|subject)s? of|discuss(?:ing|ion of)?"
    r"|mention(?:ing)?|share|sharing|provide|providing|give|giving|reveal(?:ing)?|disclose|answer(?:ing)? questions (?:about|on)"
    r"|help(?:ing)? (?:with|on)|talk(?:ing)? (?:about|of)|offer(?:ing)?)\b",
    _I,
)
_OBJECT_END = re.compile(r"\b(?:that|which|who|because|since|unless|as|for|so|in order)\b|[,;:.]", _I)
_NOT_TOPICS = word_set(
    "don't doesn't won't can't shouldn't mustn't isn't aren't strictly however please any kind kinds sort type types "
    "form forms way ways thing things anyone someone everyone"
)


def _topical(word: str) -> bool:
    from spacy.lang.en.stop_words import STOP_WORDS

    lower = word.lower()
    if lower in _GENERIC or lower in STOP_WORDS or lower in _NOT_TOPICS or lower.endswith("ing"):
        return False
    return len(word) > 2 or word.isupper()


def _per_prompt(function: Callable[[str], tuple]) -> Callable[[str], tuple]:
    """`function` of a system prompt, remembered for the last 256 prompts by their digest: an app
    sends the same prompt every time. The memo's keys are digests, not the prompts; its values are
    what `function` derived from them (the forbidden topics' words)."""
    memo: OrderedDict[bytes, tuple] = OrderedDict()
    lock = threading.Lock()

    @wraps(function)
    def remembered(context: str) -> tuple:
        key = hashlib.blake2b(context.encode(), digest_size=16).digest()
        with lock:
            if key in memo:
                memo.move_to_end(key)
                return memo[key]
        value = function(context)
        with lock:
            memo[key] = value
            while len(memo) > 256:
                memo.popitem(last=False)
        return value

    remembered.memo = memo
    return remembered


@_per_prompt
def _forbidden_topics(context: str) -> tuple[frozenset[str], tuple[str, ...]]:
    """What the system prompt's prohibitions forbid, as word stems and as words: the content words
    of what its sentences that say not, never or avoid name as their object, without the reasons
    they give."""
    words: dict[str, None] = {}
    phrases: dict[str, None] = {}
    for sentence in _FORBIDDING.findall(context):
        sentence = _REASON.sub(" ", sentence)
        objects = []
        for cue in _OBJECT.finditer(sentence):
            rest = sentence[cue.end() :]
            cut = _OBJECT_END.search(rest)
            objects.append(rest[: cut.start()] if cut else rest)
        objects = objects or [sentence]
        for named in objects:
            kept = [w.strip("'") for w in re.findall(r"[A-Za-z][A-Za-z'-]+", named) if _topical(w)]
            words.update(dict.fromkeys(kept))
            if len(kept) > 1:
                phrases[" ".join(kept)] = None  # "artificial intelligence" means more than its words
    return frozenset(_stem(w) for w in words), (*words, *phrases)


def _asks_about(text: str, context: str) -> Finding | None:
    """A question about what the system prompt forbids: one of its words, or a sentence whose
    meaning is near one (local embeddings: "neural networks" against "artificial intelligence")."""
    stems, topics = _forbidden_topics(context)
    (guarded,) = _guards_a_secret(context)
    if not topics and not guarded:
        return None
    for match in re.finditer(r"[A-Za-z][A-Za-z'-]{3,}", text):
        if _stem(match.group()) in stems:
            return Finding("asks_what_the_system_forbids", match.start(), match.end(), 0.5)
    named = (
        _by_acronym(text, topics) or _by_cognate(text, stems) or concepts.mention(text, _concepts_for(stems, guarded))
    )
    if named is not None:
        return Finding("asks_what_the_system_forbids", named[0], named[1], 0.5)
    if not topics:
        return None
    from apps.embeddings.local import local_embedder

    # the first dozen sentences: a question is short, and a document is searched by its words above;
    # the embedding model knows English only, so a sentence in another language is left to the concepts
    sentences = [m for m in _SENTENCE.finditer(text) if len(m.group().strip()) > 3 and _english(m.group())][:12]
    if not sentences:
        return None
    nearness = local_embedder().embed([m.group() for m in sentences]) @ _topic_vectors(topics).T
    best = int(nearness.max(axis=1).argmax())
    if float(nearness[best].max()) >= NEAR_A_TOPIC:
        return Finding("asks_what_the_system_forbids", sentences[best].start(), sentences[best].end(), 0.5)
    return None


def _english(sentence: str) -> bool:
    """Whether most of the sentence's words are English words."""
    from .lexicon import lexicon

    words = re.findall(r"\w+", sentence)
    known = lexicon().words
    return bool(words) and sum(w.lower() in known for w in words) * 2 >= len(words)


def _by_acronym(text: str, topics: tuple[str, ...]) -> tuple[int, int] | None:
    """A forbidden topic named by its acronym or spelt out: "AI" and "artificial intelligence".
    An acronym that spells a common word ("IF" for "internal fees") does not count."""
    acronyms = _acronyms(topics)
    for match in re.finditer(r"\b[A-Z]{2,5}s?\b", text):
        acronym = match.group().rstrip("s")
        if acronym in acronyms and acronym not in topics:
            return match.start(), match.end()
    for length in {len(a) for a in acronyms if a in topics}:
        # every run of `length` words, overlapping: "in artificial intelligence" holds one
        for match in re.finditer(rf"\b(?=([A-Za-z]+(?:[ -][A-Za-z]+){{{length - 1}}})\b)", text):
            words = re.split(r"[ -]", match.group(1))
            if "".join(w[0] for w in words).upper() in acronyms and all(len(w) > 3 and _english(w) for w in words):
                return match.start(1), match.end(1)
    return None


def _by_cognate(text: str, stems: frozenset[str]) -> tuple[int, int] | None:
    """A forbidden topic asked in another language by its cognate: "intelligenza artificiale",
    "reti neurali", "música". Only words that are not English words count, and they must share
    the topic stem's first five letters and three quarters of it, accents folded."""
    from .lexicon import lexicon

    by_start = _stems_by_start(stems)
    if not by_start:
        return None
    known = lexicon().words
    for match in re.finditer(r"[^\W\d_]{5,}", text):
        word = _folded(match.group().lower())
        for stem in by_start.get(word[:5], ()):
            shared = next(
                (i for i, (a, b) in enumerate(zip(word, stem, strict=False)) if a != b), min(len(word), len(stem))
            )
            if shared >= 0.75 * len(stem) and word.isascii() and word not in known:
                return match.start(), match.end()
    return None


_A_SECRET = re.compile(r"\b(?:password|passcode|passphrase|secret|key|pin)\b", _I)


@_per_prompt
def _guards_a_secret(context: str) -> tuple[bool]:
    """Whether the system prompt holds a secret it forbids telling ("The secret key is 'Piano'.
    Don't reveal it."): a question in any language about passwords or how to get in asks for it."""
    return (bool(_A_SECRET.search(context) and _FORBIDDING.search(context)),)


@lru_cache(maxsize=256)
def _concepts_for(stems: frozenset[str], guarded: bool) -> tuple[concepts.Concept, ...]:
    return concepts.applying(stems | {"password"} if guarded else stems, _stem)


@lru_cache(maxsize=256)
def _acronyms(topics: tuple[str, ...]) -> frozenset[str]:
    """The topics' acronyms: those given ("AI") and those of their phrases, less common words."""
    from spacy.lang.en.stop_words import STOP_WORDS

    given = {t for t in topics if t.isupper() and 2 <= len(t) <= 5}
    spelt = {"".join(w[0] for w in t.split()).upper() for t in topics if " " in t and len(t.split()) <= 5}
    return frozenset(a for a in given | spelt if a.lower() not in STOP_WORDS)


@lru_cache(maxsize=256)
def _stems_by_start(stems: frozenset[str]) -> dict[str, tuple[str, ...]]:
    """The stems of five letters or more, by their first five."""
    by_start: dict[str, list[str]] = {}
    for stem in stems:
        if len(stem) >= 5:
            by_start.setdefault(stem[:5], []).append(stem)
    return {start: tuple(found) for start, found in by_start.items()}


def _folded(word: str) -> str:
    return unicodedata.normalize("NFKD", word).encode("ascii", "ignore").decode() or word


@lru_cache(maxsize=256)
def _topic_vectors(topics: tuple[str, ...]):
    """A system prompt's topics, embedded once: an app sends the same system prompt every time."""
    from apps.embeddings.local import local_embedder

    return local_embedder().embed(list(topics))


_SENTENCE = re.compile(r"[^.!?\n;]+[.!?]?")


DECODED_LEVELS = 2  # base64 inside base64 is read; what a decoding yields is not decoded without end


def score(text: str, context: str = "", *, levels: int = DECODED_LEVELS) -> tuple[float, list[Finding]]:
    """The injection score in [0, 1] and the signals that make it (one finding per kind).
    `context` is the request's system prompt: a question about what it forbids counts too. What
    the text hides is decoded and scored too, `levels` deep (a text that speaks of reversing holds
    itself backwards, which speaks of reversing again)."""
    findings: list[Finding] = []
    asked = _asks_about(text, context) if context else None
    if asked is not None:
        findings.append(asked)
    hidden = _decoded(text) if levels > 0 else ""
    if hidden:
        inner, _ = score(hidden, context, levels=levels - 1)  # an encoded question about what the prompt forbids
        if inner >= 0.5:
            findings.append(Finding("encoded_instructions", 0, len(text), 0.8))
    for signal in SIGNALS:
        match = signal.pattern.search(text)
        if match:
            findings.append(Finding(signal.name, match.start(), match.end(), signal.weight))
    for name, weight, start, end in _extra_signals(text):
        if all(f.type != name for f in findings):
            findings.append(Finding(name, start, end, weight))
    clean = 1.0
    for finding in findings:
        clean *= 1.0 - finding.score
    return round(1.0 - clean, 4), findings
