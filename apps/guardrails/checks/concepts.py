"""The subjects apps most often put off limits, in the words that name them in English and in the
languages users write in: a question about a forbidden subject asked in German or Arabic, or by
what belongs to it ("Who composed the Magic Flute?" under a ban on music), is still a question
about it. checks/injection.py reads a system prompt's forbidden topics; a concept applies when one
of its English names is among them, and the text is then searched for any of its words.

Each concept is its English names (matched against the system prompt's topic words by stem) and
its words: English words that belong to it, and the names of it in Spanish, French, German,
Italian, Portuguese, Dutch, Polish, Russian, Greek, Turkish, Vietnamese, Indonesian, Chinese,
Japanese, Korean, Arabic and Hindi. A word in a script that separates words (Latin, Greek,
Cyrillic) matches the start of a word, accents folded, so a stem stands for its inflections
("komponier" for "komponierte"); one ending in "=" must be the whole word. A word in another
script matches anywhere, since those scripts attach particles and articles to their words.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True, slots=True)
class Concept:
    name: str
    names: frozenset[str]  # English words a system prompt names it by (before stemming)
    words: tuple[str, ...]


def _concept(name: str, names: str, words: str) -> Concept:
    return Concept(name, frozenset(names.split()), tuple(w.strip() for w in words.split("|") if w.strip()))


CONCEPTS: tuple[Concept, ...] = (
    _concept(
        "credentials",  # what a password or key is for: asking how to get in asks for it
        "password passwords passcode passcodes passphrase pin key keys credentials",
        "log in| login| log into| logging in| sign in| signing in| unlock| access my| get into my| contraseña| mot de passe"
        "| passwort| kennwort| senha| wachtwoord| hasło| пароль| κωδικός πρόσβασης| κωδικό πρόσβασης| κωδικού πρόσβασης| şifre| mật khẩu| kata sandi| clave secreta"
        "| clé secrète| chiave segreta| geheime schlüssel| geheimer schlüssel| geheimen schlüssel| chave secreta| секретн"
        "| gizli anahtar| khóa bí mật| kunci rahasia| 密码| 密碼| 密钥| パスワード| 秘密鍵| 비밀번호| 비밀 키| كلمة المرور"
        "| كلمة السر| المفتاح السري| पासवर्ड| गुप्त कुंजी",
    ),
    _concept(
        "music",
        "music musical musicians musician composer composers songs song singers singer bands opera concerts lyrics",
        "composed by| who composed| composing| symphon| sonata| concerto| orchestra| melod| guitar| violin| beethoven| mozart| chopin"
        "| album=| albums=| lyrics| musique| musica| musik| muziek| muzyk| muzik| música| музык| μουσικ| müzik| nhạc"
        "| compositeur| compositor| compositore| komponist| componist| kompozytor| композитор| συνθέτ| besteci| compuso"
        "| compôs=| komponier| componeerde| skomponowa| canción| canciones| chanson| canzon| canção| piosenk"
        "| песн| песня| τραγούδ| şarkı| bài hát| lagu=| ópera| opéra| oper=| опер| όπερα| sinfon| symphonie| симфон"
        "| συμφων| 音楽| 音乐| 音樂| 作曲| 歌曲| 交響曲| 交响曲| オペラ| 歌剧| 음악| 작곡| 노래| 오페라| موسيق| أغنية| ملحن"
        "| أوبرا| संगीत| गाना| गीत",
    ),
    _concept(
        "sports",
        "sport sports athletics athletes athlete football soccer basketball baseball tennis cricket league leagues "
        "olympics",
        "football| soccer| basketball| baseball| cricket| rugby| tennis| golf=| olympic| fifa=| nba=| nfl=| world cup"
        "| championship| tournament| deporte| deportiv| esporte| sportif| sportiv| спорт| σπορ| αθλητ| olahraga"
        "| thể thao| fútbol| futbol| futebol| fußball| fussball| calcio| voetbal| piłk| футбол| ποδόσφαιρ| bóng đá"
        "| sepak bola| liga=| ligue=| lega=| campeonato| championnat| meisterschaft| campionato| лига| πρωτάθλ| olímpic"
        "| olimpi| олимпи| ολυμπ| baloncesto| basquete| баскетбол| μπάσκετ| 体育| 運動| スポーツ| 足球| サッカー| 联赛"
        "| 奥运| オリンピック| 篮球| 스포츠| 축구| 리그| 올림픽| 농구| رياضة| الرياضة| الدوري| كرة القدم| أولمب| खेल| फुटबॉल"
        "| क्रिकेट| लीग| ओलंपिक",
    ),
    _concept(
        "cooking",
        "recipe recipes cooking cook cooks baking bake cake cakes food foods dish dishes cuisine meals meal dessert "
        "desserts",
        "recipe| ingredients| bake=| baking| cake=| cakes=| dessert| moussaka| lasagn| paella| sushi=| ramen=| tiramisu"
        "| risotto| biryani| tacos=| pizza=| curry=| goulash| receta| recette| rezept| ricett| receita| recept| przepis"
        "| рецепт| συνταγ| tarifi| công thức nấu| resep=| cocinar| cuisiner| kochen| cucinare| cozinhar| koken| gotowa"
        "| готовить| μαγειρ| pişir| nấu ăn| memasak| hornear| backen| tarta=| gâteau| kuchen| torte=| torta="
        "| bolo=| taart| ciasto| торт| κέικ| τούρτα| μουσακ| bánh| 食谱| 菜谱| 做饭| 烹饪| 蛋糕| レシピ| 料理| ケーキ| 레시피"
        "| 요리| 케이크| وصفة| طبخ| كعكة| रेसिपी| नुस्खा| पकाना| केक",
    ),
    _concept(
        "artificial intelligence",
        "ai artificial intelligence machine learning neural chatbots chatbot robots robot robotics",
        "turing| chatbot| chatgpt| gpt=| llm=| llms=| neural| machine learning| deep learning| robot| inteligencia"
        " artificial| intelligence artificielle| künstliche intelligenz| kunstliche intelligenz| intelligenza"
        " artificiale| inteligência artificial| inteligencia artificial| kunstmatige intelligentie| sztuczn"
        "| искусственн| τεχνητή νοημοσύνη| τεχνητη νοημοσυνη| yapay zeka| trí tuệ nhân tạo| kecerdasan buatan"
        "| aprendizaje automático| apprentissage automatique| maschinelles lernen| apprendimento automatico| нейрон"
        "| νευρωνικ| neuronal| neurali| neurais| neuronen| робот| ρομπότ| 人工智能| 人工知能| 机器学习| 機械学習| 神经网络"
        "| ニューラル| 机器人| ロボット| 인공지능| 머신러닝| 신경망| 로봇| الذكاء الاصطناعي| التعلم الآلي| روبوت"
        "| कृत्रिम बुद्धि| रोबोट",
    ),
    _concept(
        "politics",
        "politics political politician politicians elections election presidential",
        "election| presidential| presidency| senator| congressman| parliament| democrat| republican| prime minister| política| politique"
        "| politik| politica| politiek| polityk| политик| πολιτικ| siyaset| chính trị| elección| elecciones| élection"
        "| wahlen=| wahl=| elezion| eleição| verkiezing| wybory| выбор| εκλογ| seçim| bầu cử| pemilu| presidente"
        "| président| präsident| prezydent| президент| πρόεδρ| cumhurbaşkan| tổng thống| parlament| парламент"
        "| κοινοβούλ| 政治| 选举| 選挙| 总统| 大統領| 议会| 정치| 선거| 대통령| سياس| انتخاب| برلمان| राजनीति| चुनाव"
        "| राष्ट्रपति| संसद",
    ),
    _concept(
        "medicine",
        "medication medications medicine medicines drug drugs medical prescription prescriptions treatment "
        "treatments diagnosis pharmaceutical pharmaceuticals",
        "morphine| ibuprofen| aspirin| paracetamol| acetaminophen| antibiotic| opioid| painkiller| dosage| insulin"
        "| codeine| medicamento| médicament| medikament| farmac| fármaco| remédio| geneesmiddel| leki=| lekarstw"
        "| лекарств| φάρμακ| ilaç| thuốc| obat=| dosis| dosierung| dosaggio| dawk| дозир| δοσολογ| 药物| 药品| 薬| 의약품"
        "| 약물| دواء| أدوية| दवा| दवाई",
    ),
    _concept(
        "film and television",
        "movie movies film films tv television shows cartoons cartoon anime sitcoms sitcom",
        "episode| sitcom| netflix| hollywood| pixar| disney| anime| cartoon| actor| actress| película| peliculas"
        "| filme=| filmes=| фильм| ταινία| ταινια| dizi=| phim=| televisión| télévision| fernseh| televisione"
        "| televisão| televisie| telewizj| телевиден| τηλεόρασ| televizyon| truyền hình| serie=| série=| сериал"
        "| dibujos animados| dessin animé| dessins animés| zeichentrick| cartone animato| cartoni animati"
        "| desenho animado| tekenfilm| kreskówk| мультфильм| мультик| κινούμενα σχέδια| çizgi film| phim hoạt hình"
        "| kartun| 电影| 映画| 电视| テレビ| 电视剧| ドラマ| 动画| 卡通| アニメ| 漫画| 영화| 드라마| 만화| 애니메이션"
        "| 텔레비전| فيلم| تلفزيون| مسلسل| كرتون| رسوم متحركة| फ़िल्म| फिल्म| टीवी| धारावाहिक| कार्टून",
    ),
    _concept(
        "physics",
        "physics quantum physicist physicists",
        "quantum| relativity| einstein| schrödinger| schrodinger| photon| física| physique| physik| fisica| fysica"
        "| fizyk| физик| φυσικ| fizik| vật lý| fisika| cuántic| quantique| quanten| quantistic| quântic| kwantow"
        "| квант| κβαντ| kuantum| lượng tử| 物理| 量子| 물리| 양자| فيزياء| الكم| भौतिकी| क्वांटम",
    ),
    _concept(
        "mathematics",
        "math maths mathematics mathematical equations equation calculations calculation algebra calculus arithmetic",
        "equation| algebra| calculus| theorem| polynomial| quadratic| arithmetic| matemátic"
        "| mathématique| mathematik| matematic| wiskunde| matematyk| математик| μαθηματικ| matematik| toán=| toán học"
        "| ecuación| équation| gleichung| equazion| equação| vergelijking| równani| уравнен| εξίσωσ| denklem"
        "| phương trình| persamaan| 数学| 方程| 수학| 방정식| رياضيات| معادلة| गणित| समीकरण",
    ),
    _concept(
        "climate change",
        "climate warming",
        "global warming| greenhouse| carbon emissions| climátic| climatique| klimawandel| klimatu| climatic"
        "| climátic| climática| klimaatverandering| климат| κλιματ| iklim| khí hậu| perubahan iklim| 气候| 気候| 기후"
        "| المناخ| जलवायु",
    ),
    _concept(
        "space travel",
        "space astronomy astronauts astronaut rockets rocket spaceflight",
        "nasa=| spacex| astronaut| spacecraft| rocket| orbit| espacial| spatiale| vol spatial| voyage spatial| raumfahrt| spaziale| ruimtevaart"
        "| kosmiczn| космос| космическ| διαστημ| uzay=| vũ trụ| luar angkasa| cohete| fusée| rakete| razzo| foguete"
        "| ракет| πύραυλ| roket| tên lửa| astronauta| astronaute| космонавт| αστροναύτ| astronot| phi hành gia| 太空"
        "| 宇宙| 火箭| ロケット| 宇航员| 우주| 로켓| الفضاء| صاروخ| رائد فضاء| अंतरिक्ष| रॉकेट",
    ),
    _concept(
        "cryptography",
        "cryptography encryption cipher ciphers cryptographic",
        "encrypt| decrypt| cipher| criptogra| cryptogra| kryptogra| crittogra| cryptografie| szyfr| шифр| κρυπτογρ"
        "| kriptogra| mật mã| mã hóa| cifrar| chiffrement| chiffrer| déchiffr| verschlüssel| versleutel| 密码学| 加密| 暗号| 암호| تشفير"
        "| क्रिप्टोग्राफी| एन्क्रिप्ट",
    ),
    _concept(
        "chess",
        "chess",
        "checkmate| gambit| grandmaster| ajedrez| échecs| schach| scacchi| xadrez| schaken| szach| шахмат| σκάκι"
        "| satranç| cờ vua| catur=| 国际象棋| 象棋| チェス| 체스| شطرنج| शतरंज",
    ),
    _concept(
        "evolution",
        "evolution darwin evolutionary",
        "darwin| natural selection| evolución| évolution| evoluzione| evolução| evolutie| ewolucj| эволюц| εξέλιξ"
        "| evrim=| tiến hóa| evolusi| 进化| 進化| 진화| تطور| क्रमिक विकास",
    ),
    _concept(
        "emotional support",
        "emotional mental therapy depression anxiety",
        "depressed| depression| anxious| anxiety| lonely| therapist| emocional| émotionnel| emotivo| emocjonaln"
        "| эмоциональн| συναισθηματ| duygusal| cảm xúc| emosional| depresión| dépression| depressione| depressão"
        "| depressie| depresj| депресс| κατάθλιψ| depresyon| trầm cảm| depresi=| ansiedad| anxiété| ansia=| ansiedade"
        "| тревог| άγχος| kaygı| lo âu| kecemasan| 抑郁| うつ病| 鬱| 우울| 불안| اكتئاب| قلق| अवसाद| चिंता",
    ),
    _concept(
        "programming",
        "programming coding python software",
        "python| javascript| programación| programmation| programmierung| programmazione| programação| programmeren"
        "| programowani| программирован| προγραμματισμ| programlama| lập trình| pemrograman| código| código fuente"
        "| quellcode| 编程| 代码| プログラミング| 프로그래밍| برمجة| प्रोग्रामिंग",
    ),
    _concept(
        "religion",
        "religion religions religious faith church churches",
        "bible| quran| koran| prayer| jesus| allah| buddha| religión| religione| religião| religie| religi| религи"
        "| θρησκ| tôn giáo| agama=| iglesia| église| kirche| chiesa| igreja| kerk=| kościo| церк| εκκλησ| kilise"
        "| nhà thờ| gereja| 宗教| 教会| 종교| 교회| الدين| ديانة| كنيسة| धर्म| चर्च",
    ),
    _concept(
        "finance",
        "finance financial investment investments investing stocks stock crypto cryptocurrency cryptocurrencies trading",
        "invest| portfolio| dividend| bitcoin| cryptocurrenc| stock market| finanzas| finanzen| finanza| finanças"
        "| financiën| finans| финанс| χρηματ| tài chính| keuangan| inversión| investissement| investition"
        "| investimento| investering| inwestycj| инвестиц| επένδυσ| yatırım| đầu tư| investasi| acciones| bourse"
        "| aktien| azioni| ações| aandelen| akcj| акци| μετοχ| hisse| cổ phiếu| saham| criptomoneda| krypto"
        "| криптовалют| 金融| 投资| 投資| 股票| 株価| 加密货币| 仮想通貨| 금융| 투자| 주식| 암호화폐| مالية| استثمار| أسهم"
        "| वित्त| निवेश| शेयर",
    ),
    _concept(
        "weather",
        "weather forecast forecasts",
        "forecast| météo| wetter| meteo| previsão do tempo| weerbericht| pogod| погод| καιρ| hava durumu| thời tiết"
        "| cuaca| 天气| 天気| 날씨| طقس| मौसम",
    ),
    _concept(
        "vehicles",
        "car cars tire tires tyre tyres vehicle vehicles automobile automobiles",
        "tire=| tires=| tyre| brake| coche| voiture| wagen=| automóvel| samochód| автомоб| αυτοκίνητ| araba="
        "| xe ô tô| mobil=| neumático| llanta| pneu=| pneus=| reifen| pneumatic| gomme| opon=| шин=| шины| ελαστικ"
        "| lastik| lốp| 汽车| 轮胎| タイヤ| 자동차| 타이어| سيارة| टायर",
    ),
)

_SEPARATED = re.compile(r"[A-Za-z\u00c0-\u024f\u0370-\u03ff\u0400-\u04ff\u1e00-\u1eff' -]+")


@lru_cache(maxsize=4096)
def _folded_character(character: str) -> str:
    return (unicodedata.normalize("NFKD", character)[:1] or character).lower()[:1]


def fold(text: str) -> str:
    """Lower case without accents, one character for one (offsets stay those of `text`)."""
    if text.isascii():
        return text.lower()
    return "".join(map(_folded_character, text))


def applying(stems: frozenset[str], stem) -> tuple[Concept, ...]:
    """The concepts one of whose English names, stemmed by `stem`, is among `stems`."""
    return tuple(c for c in CONCEPTS if any(stem(n) in stems for n in c.names))


@dataclass(frozen=True, slots=True)
class _Words:
    by_start: dict[str, tuple[tuple[str, bool], ...]]  # words of spaced scripts by their first 3 letters
    anywhere: tuple[str, ...]  # words of other scripts


@lru_cache(maxsize=64)
def _words(concepts: tuple[Concept, ...]) -> _Words:
    by_start: dict[str, list[tuple[str, bool]]] = {}
    anywhere = []
    for concept in concepts:
        for word in concept.words:
            whole = word.endswith("=")
            word = fold(word.rstrip("="))
            if _SEPARATED.fullmatch(word):
                by_start.setdefault(word[:3], []).append((word, whole))
            else:
                anywhere.append(word)
    return _Words({start: tuple(found) for start, found in by_start.items()}, tuple(anywhere))


_WORD = re.compile(r"\w+")


def mention(text: str, concepts: tuple[Concept, ...]) -> tuple[int, int] | None:
    """Where `text` first names one of `concepts`, or None."""
    if not concepts:
        return None
    words, folded = _words(concepts), fold(text)
    for token in _WORD.finditer(folded):
        start = token.start()
        for word, whole in words.by_start.get(folded[start : start + 3], ()):
            end = start + len(word)
            if folded.startswith(word, start) and not (whole and end < len(folded) and folded[end].isalnum()):
                return start, end
    if not text.isascii():
        for word in words.anywhere:
            at = folded.find(word)
            if at != -1:
                return at, at + len(word)
    return None
