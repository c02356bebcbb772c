"""The hosted page's words in Kazakh, Russian and English (HighHelp's page, not the shop's)."""

from __future__ import annotations

from ..highhelp import wire

# The hosted page's languages, in the order of each entry of TEXTS below.
LANGUAGES = wire.LANGUAGES
DEFAULT_LANGUAGE = "ru"

TEXTS: dict[str, tuple[str, str, str]] = {
    # key: (kk, ru, en)
    "title": (
        "Ұялы байланыс балансынан төлеу",
        "Оплата с баланса мобильного",
        "Pay from your mobile balance",
    ),
    "to_pay": ("Төлеуге", "К оплате", "To pay"),
    "recipient": ("Алушы", "Получатель", "Recipient"),
    "language": ("Тіл", "Язык", "Language"),
    "error_title": ("Қате", "Ошибка", "Error"),
    "choose_operator": ("Операторды таңдаңыз", "Выберите оператора", "Choose your operator"),
    "phone_label": ("Ұялы телефон нөмірі", "Номер мобильного телефона", "Mobile number"),
    "get_code": ("Кодты алу", "Получить код", "Get the code"),
    "bad_phone": (
        "Қазақстандық ұялы нөмірді енгізіңіз: +7 7XX XXX XX XX",
        "Введите казахстанский мобильный номер: +7 7XX XXX XX XX",
        "Enter a Kazakh mobile number: +7 7XX XXX XX XX",
    ),
    "bad_operator": (
        "Осы нөмірдің операторын таңдаңыз",
        "Выберите оператора этого номера",
        "Choose the operator of this number",
    ),
    "check_operator": (
        "Операторды тексеріп, қайта басыңыз",
        "Проверьте оператора и нажмите ещё раз",
        "Check the operator and press again",
    ),
    "operator_suggested": (
        "Нөмір бойынша таңдалды. Операторыңыз басқа болса, оны таңдаңыз.",
        "Выбран по номеру. Если ваш оператор другой, выберите его.",
        "Picked from your number. If your operator is different, choose it.",
    ),
    "code_sent": (
        "{phone} нөміріне SMS арқылы код жібердік",
        "Мы отправили код по SMS на {phone}",
        "We sent a code by SMS to {phone}",
    ),
    "code_title": ("SMS-тегі кодты енгізіңіз", "Введите код из SMS", "Enter the code from the SMS"),
    "code_label": ("SMS-тегі код", "Код из SMS", "Code from the SMS"),
    "change_number": ("Нөмірді өзгерту", "Изменить номер", "Change number"),
    "no_more_codes": (
        "Жаңа код жіберуге болмайды, сондықтан нөмірді өзгерту мүмкін емес",
        "Новый код отправить нельзя, поэтому номер не изменить",
        "No more codes can be sent, so the number cannot be changed",
    ),
    "confirm": ("Төлемді растау", "Подтвердить оплату", "Confirm payment"),
    "wrong_code": (
        "Код қате. Қалған әрекет саны: {left}",
        "Неверный код. Осталось попыток: {left}",
        "Wrong code. Attempts left: {left}",
    ),
    "empty_code": ("Кодты енгізіңіз", "Введите код", "Enter the code"),
    "resend": ("Жаңа код жіберу", "Отправить новый код", "Send a new code"),
    "resend_in": (
        "Жаңа кодты {seconds} с кейін сұрауға болады",
        "Новый код можно запросить через {seconds} с",
        "A new code can be requested in {seconds} s",
    ),
    "resends_left": (
        "Жаңа код сұрау саны: {left}",
        "Осталось запросов нового кода: {left}",
        "New codes left: {left}",
    ),
    "new_code_sent": ("Жаңа код жіберілді", "Новый код отправлен", "A new code was sent"),
    "test_sms": ("Тест SMS", "Тестовое SMS", "Test SMS"),
    "checking_title": ("Төлемді тексеріп жатырмыз", "Проверяем платёж", "Checking the payment"),
    "checking": (
        "Төлемді оператормен растап жатырмыз…",
        "Подтверждаем платёж у оператора…",
        "Confirming the payment with your operator…",
    ),
    "refresh": ("Жаңарту", "Обновить", "Refresh"),
    "press_refresh": (
        "Нәтижені көру үшін «Жаңарту» түймесін басыңыз.",
        "Чтобы увидеть результат, нажмите «Обновить».",
        "To see the result, press “Refresh”.",
    ),
    "updates_itself": (
        "Бет өзі жаңарады.",
        "Страница обновится сама.",
        "This page updates by itself.",
    ),
    "cancel": ("Төлемнен бас тарту", "Отменить оплату", "Cancel payment"),
    "cancel_hint": (
        "Дүкенге ораласыз, ақша алынбайды.",
        "Вы вернётесь в магазин, деньги не спишутся.",
        "You go back to the shop; no money is taken.",
    ),
    "success": ("Төлем сәтті өтті", "Оплата прошла успешно", "Payment successful"),
    "declined": ("Төлем қабылданбады", "Платёж отклонён", "Payment declined"),
    "back": ("Дүкенге оралу", "Вернуться в магазин", "Return to the shop"),
    "auto_return": (
        "{seconds} с кейін дүкенге ораласыз.",
        "Через {seconds} с вы вернётесь в магазин.",
        "You will be taken back to the shop in {seconds} s.",
    ),
    "stay": ("Осы бетте қалу", "Остаться на странице", "Stay on this page"),
    "time_left": (
        "Төлеуге қалған уақыт: {time}",
        "Осталось времени на оплату: {time}",
        "Time left to pay: {time}",
    ),
    "not_found": ("Төлем беті табылмады", "Страница оплаты не найдена", "Payment page not found"),
    "not_found_hint": (
        "Сілтеме ескі немесе қате болуы мүмкін. Дүкенге оралып, төлемді қайта бастаңыз.",
        "Ссылка могла устареть или содержать ошибку. Вернитесь в магазин и начните оплату заново.",
        "The link may be old or mistyped. Go back to the shop and start the payment again.",
    ),
    "test_numbers": ("Тест нөмірлері", "Тестовые номера", "Test numbers"),
    "any_other_number": (
        "Кез келген басқа нөмір: дұрыс кодтан кейін сәтті",
        "Любой другой номер: успех после верного кода",
        "Any other number: success after the right code",
    ),
    "reason_wrong_codes": (
        "Код 3 рет қате енгізілді",
        "Код введён неверно 3 раза",
        "The code was wrong 3 times",
    ),
    "reason_resends": (
        "Жаңа код тым көп рет сұралды",
        "Слишком много запросов нового кода",
        "Too many new codes were requested",
    ),
    "reason_operator": (
        "Оператор төлемді қабылдамады",
        "Оператор отклонил платёж",
        "Your operator declined the payment",
    ),
    "reason_expired": ("Төлеу уақыты бітті", "Время на оплату истекло", "The time to pay ran out"),
    "reason_cancelled": (
        "Дүкен төлемнен бас тартты",
        "Магазин отменил платёж",
        "The shop cancelled the payment",
    ),
    "reason_payer_cancelled": (
        "Сіз төлемнен бас тарттыңыз",
        "Вы отменили оплату",
        "You cancelled the payment",
    ),
    # Short, so the badge and three language buttons fit one row at 360 px.
    "sandbox_badge": ("Құмсалғыш", "Песочница", "Sandbox"),
}


def choose_language(*candidates: str | None) -> str:
    """The first supported language among the candidates, else the default."""
    return next((code for code in candidates if code in LANGUAGES), DEFAULT_LANGUAGE)


def text(language: str, key: str, **values: object) -> str:
    """One phrase in `language`, with `{placeholders}` filled in."""
    phrase = TEXTS[key][LANGUAGES.index(language)]
    return phrase.format(**values) if values else phrase
