"""The demo catalogue, which `flask --app wsgi shop load-demo` (shop/cli.py) loads."""

from __future__ import annotations

from sqlalchemy import select

from ..database import begin_write
from ..extensions import db
from ..highhelp.wire import CURRENCY_KZT
from ..models import Product

# (sku, price in tiyn, image, (kk, ru, en) names, (kk, ru, en) descriptions)
DEMO_PRODUCTS = (
    (
        "dombra",
        4_500_000,
        "dombra.svg",
        ("Домбыра", "Домбра", "Dombra"),
        (
            "Қолдан жасалған екі ішекті домбыра, қарағайдан.",
            "Двухструнная домбра ручной работы из сосны.",
            "A handmade two-string dombra of pine.",
        ),
    ),
    (
        "kese",
        350_000,
        "kese.svg",
        ("Кесе жиынтығы", "Набор пиал", "Kese tea bowls"),
        (
            "Шай ішуге арналған екі фарфор кесе.",
            "Две фарфоровые пиалы для чая.",
            "Two porcelain bowls for tea.",
        ),
    ),
    (
        "slippers",
        1_290_000,
        "slippers.svg",
        ("Киіз шәркей", "Войлочные тапочки", "Felt slippers"),
        (
            "Қой жүнінен басылған жылы үй шәркейі.",
            "Тёплые домашние тапочки из овечьей шерсти.",
            "Warm house slippers of pressed sheep's wool.",
        ),
    ),
    (
        "aport",
        650_000,
        "apples.svg",
        ("Апорт алмасы, 3 кг", "Яблоки апорт, 3 кг", "Aport apples, 3 kg"),
        (
            "Алматы баурайының атақты алмасы.",
            "Знаменитые яблоки с предгорий Алматы.",
            "The famous apples from the Almaty foothills.",
        ),
    ),
    (
        "shapan",
        8_900_000,
        "shapan.svg",
        ("Шапан", "Чапан", "Shapan robe"),
        (
            "Алтын жіппен кестеленген мерекелік шапан.",
            "Праздничный чапан с золотой вышивкой.",
            "A festive robe embroidered with golden thread.",
        ),
    ),
)


def load_demo_products() -> int:
    """Insert or update the demo products; how many there are."""
    begin_write()
    for sku, price, image, names, descriptions in DEMO_PRODUCTS:
        product = db.session.execute(select(Product).where(Product.sku == sku)).scalar()
        if product is None:
            product = Product(sku=sku)
            db.session.add(product)
        product.price, product.currency, product.image, product.active = price, CURRENCY_KZT, image, True
        product.name_kk, product.name_ru, product.name_en = names
        product.description_kk, product.description_ru, product.description_en = descriptions
    db.session.commit()
    return len(DEMO_PRODUCTS)
