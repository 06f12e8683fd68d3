"""The authored facts of the demo domain: Lumora, an invented consumer-electronics company.

Every name, number and policy here is fictional. The generator (:mod:`kg.demo.generate`) turns these tables
into triples, aliases and descriptions; rules (which charger fits which device) are small predicates so a new
product picks up its accessories without editing every accessory.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

COMPANY = "Lumora"
HEADQUARTERS = "Lisbon"
FOUNDED = 2012

PHONE, TABLET, LAPTOP, BUDS, HEADPHONES = "smartphone", "tablet", "laptop", "wireless earbuds", "headphones"
SMART_SPEAKER, PORTABLE_SPEAKER, SOUNDBAR, WATCH, TV = (
    "smart speaker", "portable speaker", "soundbar", "smartwatch", "TV")
AUDIO = (BUDS, HEADPHONES)
SPEAKERS = (SMART_SPEAKER, PORTABLE_SPEAKER, SOUNDBAR)

TYPE_ALIASES: dict[str, tuple[str, ...]] = {
    PHONE: ("phone", "mobile phone", "cell phone"),
    TABLET: ("tablet computer",),
    LAPTOP: ("notebook", "notebook computer"),
    BUDS: ("earbuds", "earphones"),
    HEADPHONES: ("over-ear headphones",),
    SMART_SPEAKER: ("home speaker",),
    PORTABLE_SPEAKER: ("bluetooth speaker",),
    WATCH: ("smart watch", "watch"),
    TV: ("television", "smart TV"),
}

WIRELESS = "MagDot wireless charging"  # the company's magnetic wireless-charging standard


@dataclass(frozen=True)
class Series:
    key: str
    alias: str
    blurb: str


SERIES = (
    Series("Aurora series", "Aurora", "Lumora's flagship smartphone line with premium cameras and displays."),
    Series("Kite series", "Kite", "Lumora's affordable smartphones with long battery life."),
    Series("Slate series", "Slate", "Lumora's tablets for work, school and drawing."),
    Series("Vertex series", "Vertex", "Lumora's laptops running LumoraBook OS."),
    Series("Pulse series", "Pulse", "Lumora's wireless earbuds and headphones."),
    Series("Cadence series", "Cadence", "Lumora's home and portable speakers and soundbars."),
    Series("Tempo series", "Tempo", "Lumora's smartwatches for fitness and notifications."),
    Series("Lumen series", "Lumen", "Lumora's smart TVs."),
)


@dataclass(frozen=True)
class Product:
    """A device sold by Lumora. ``storage`` is in GB (1024 prints as 1 TB); ``screen`` in inches."""

    key: str
    kind: str
    series: str
    year: int
    price: int  # USD
    model: str  # model number, also an alias
    colours: tuple[str, ...]
    blurb: str
    aliases: tuple[str, ...] = ()
    battery: str | None = None
    screen: float | None = None
    storage: tuple[int, ...] = ()
    chip: str | None = None
    os: str | None = None
    port: str | None = "USB-C"
    wireless: bool = False
    water: str | None = None  # water-resistance rating
    predecessor: str | None = None
    bundled: tuple[str, ...] = ()


_ = Product  # short alias for the long table below
PRODUCTS: tuple[Product, ...] = (
    # --- Aurora: flagship phones
    _("Aurora X10", PHONE, "Aurora series", 2021, 699, "LM-A10", ("Graphite", "Silver", "Ocean Blue"),
      "The first Aurora X model with a dual camera.", ("X10",), "4000 mAh", 6.1, (128, 256),
      "Lumora L1 chip", "LumoraOS 4", water="IP67"),
    _("Aurora X10 Pro", PHONE, "Aurora series", 2021, 899, "LM-A10P", ("Graphite", "Silver"),
      "The 2021 large-screen flagship with a telephoto camera.", ("X10 Pro", "X10P"), "4500 mAh", 6.7,
      (128, 256, 512), "Lumora L1 chip", "LumoraOS 4", water="IP68"),
    _("Aurora X11", PHONE, "Aurora series", 2022, 729, "LM-A11",
      ("Midnight Black", "Pearl White", "Sage Green"),
      "A compact flagship with a brighter display than the X10.", ("X11",), "4100 mAh", 6.1, (128, 256),
      "Lumora L2 chip", "LumoraOS 5", water="IP68", predecessor="Aurora X10"),
    _("Aurora X11 Pro", PHONE, "Aurora series", 2022, 949, "LM-A11P", ("Midnight Black", "Pearl White"),
      "The first Aurora phone with MagDot wireless charging.", ("X11 Pro", "X11P"), "4700 mAh", 6.7,
      (256, 512), "Lumora L2 chip", "LumoraOS 5", wireless=True, water="IP68", predecessor="Aurora X10 Pro"),
    _("Aurora X12", PHONE, "Aurora series", 2023, 749, "LM-A12", ("Midnight Black", "Sky Blue", "Coral"),
      "A 6.1-inch flagship with MagDot wireless charging and a 50 MP camera.", ("X12",), "4300 mAh", 6.1,
      (128, 256), "Lumora L3 chip", "LumoraOS 5", wireless=True, water="IP68", predecessor="Aurora X11"),
    _("Aurora X12 Pro", PHONE, "Aurora series", 2023, 999, "LM-A12P",
      ("Titanium", "Midnight Black", "Sage Green"),
      "The 2023 pro flagship with a titanium frame and a 5x zoom camera.", ("X12 Pro", "X12P", "Twelve Pro"),
      "4900 mAh", 6.7, (256, 512, 1024), "Lumora L3 chip", "LumoraOS 5", wireless=True, water="IP68",
      predecessor="Aurora X11 Pro"),
    _("Aurora X13", PHONE, "Aurora series", 2024, 799, "LM-A13", ("Pearl White", "Lavender", "Charcoal"),
      "A balanced flagship with an always-on display.", ("X13",), "4500 mAh", 6.2, (128, 256, 512),
      "Lumora L4 chip", "LumoraOS 6", wireless=True, water="IP68", predecessor="Aurora X12"),
    _("Aurora X13 Pro", PHONE, "Aurora series", 2024, 1049, "LM-A13P", ("Titanium", "Charcoal", "Sand"),
      "The 2024 pro flagship with a periscope camera and faster MagDot charging.", ("X13 Pro", "X13P"),
      "5000 mAh", 6.7, (256, 512, 1024), "Lumora L4 chip", "LumoraOS 6", wireless=True, water="IP68",
      predecessor="Aurora X12 Pro"),
    _("Aurora X14", PHONE, "Aurora series", 2025, 829, "LM-A14", ("Arctic White", "Forest Green", "Charcoal"),
      "The current standard Aurora phone with on-device AI features.", ("X14",), "4700 mAh", 6.2,
      (128, 256, 512), "Lumora L5 chip", "LumoraOS 7", wireless=True, water="IP68", predecessor="Aurora X13"),
    _("Aurora X14 Pro", PHONE, "Aurora series", 2025, 1099, "LM-A14P", ("Titanium", "Crimson", "Charcoal"),
      "The current pro flagship with a 120 Hz 6.7-inch display.", ("X14 Pro", "X14P"), "5100 mAh", 6.7,
      (256, 512, 1024), "Lumora L5 chip", "LumoraOS 7", wireless=True, water="IP68",
      predecessor="Aurora X13 Pro"),
    _("Aurora X14 Ultra", PHONE, "Aurora series", 2025, 1299, "LM-A14U", ("Titanium", "Midnight Black"),
      "The largest and most expensive Aurora phone, sold with Pulse Buds 2 at launch.",
      ("X14 Ultra", "X14U", "Aurora Ultra"), "5500 mAh", 6.9, (512, 1024), "Lumora L5 chip", "LumoraOS 7",
      wireless=True, water="IP68", bundled=("Pulse Buds 2",)),
    _("Aurora Fold", PHONE, "Aurora series", 2023, 1599, "LM-AF1", ("Graphite", "Lavender"),
      "Lumora's first foldable phone with a 7.6-inch inner screen.", ("Fold", "Aurora Fold 1"), "4400 mAh",
      7.6, (256, 512), "Lumora L3 chip", "LumoraOS 5", wireless=True, water="IPX4"),
    _("Aurora Fold 2", PHONE, "Aurora series", 2025, 1699, "LM-AF2", ("Graphite", "Sand"),
      "A thinner foldable with a larger hinge-free inner screen.", ("Fold 2", "Fold2"), "4600 mAh", 7.8,
      (512, 1024), "Lumora L5 chip", "LumoraOS 7", wireless=True, water="IPX8", predecessor="Aurora Fold"),
    # --- Kite: affordable phones
    _("Kite 3", PHONE, "Kite series", 2021, 249, "LM-K3", ("Charcoal", "Sky Blue"),
      "An entry-level phone with a two-day battery.", ("K3",), "5000 mAh", 6.5, (64, 128), "Lumora K1 chip",
      "LumoraOS 4", water="IP52"),
    _("Kite 4", PHONE, "Kite series", 2022, 279, "LM-K4", ("Charcoal", "Coral", "Sky Blue"),
      "An entry-level phone with a 90 Hz display.", ("K4",), "5000 mAh", 6.5, (128,), "Lumora K1 chip",
      "LumoraOS 5", water="IP52", predecessor="Kite 3"),
    _("Kite 5", PHONE, "Kite series", 2023, 299, "LM-K5", ("Charcoal", "Sage Green", "Lavender"),
      "An affordable phone with a 50 MP main camera.", ("K5",), "5200 mAh", 6.6, (128, 256), "Lumora K2 chip",
      "LumoraOS 5", water="IP54", predecessor="Kite 4"),
    _("Kite 5 Plus", PHONE, "Kite series", 2024, 349, "LM-K5L", ("Charcoal", "Ocean Blue"),
      "A big-battery Kite with the largest battery of any Lumora phone.", ("K5 Plus", "Kite Plus"),
      "6000 mAh", 6.8, (128, 256), "Lumora K2 chip", "LumoraOS 6", water="IP54"),
    _("Kite 6", PHONE, "Kite series", 2025, 319, "LM-K6", ("Charcoal", "Forest Green", "Coral"),
      "The current affordable phone with a brighter 120 Hz screen.", ("K6",), "5500 mAh", 6.6, (128, 256),
      "Lumora K3 chip", "LumoraOS 7", water="IP54", predecessor="Kite 5"),
    _("Nova phone", PHONE, "Kite series", 2024, 399, "LM-N1", ("Pearl White", "Lavender", "Midnight Black"),
      "A compact 5.8-inch phone in the Kite family, marketed simply as the Nova.", ("Nova", "Lumora Nova"),
      "3900 mAh", 5.8, (128, 256), "Lumora L4 chip", "LumoraOS 6", water="IP67"),
    # --- Slate: tablets
    _("Slate 10", TABLET, "Slate series", 2021, 329, "LM-S10", ("Silver", "Graphite"),
      "A 10.2-inch everyday tablet with Lumora Pen support.", ("S10",), "7000 mAh", 10.2, (64, 128),
      "Lumora L1 chip", "LumoraOS 4"),
    _("Slate Mini", TABLET, "Slate series", 2022, 449, "LM-SM1", ("Silver", "Lavender"),
      "A small 8.3-inch tablet that fits in a coat pocket.", ("Mini tablet",), "5100 mAh", 8.3, (64, 256),
      "Lumora L2 chip", "LumoraOS 5"),
    _("Slate 11", TABLET, "Slate series", 2023, 499, "LM-S11", ("Silver", "Sky Blue", "Coral"),
      "A 10.9-inch tablet for school and home.", ("S11",), "7600 mAh", 10.9, (128, 256), "Lumora L3 chip",
      "LumoraOS 5", predecessor="Slate 10"),
    _("Slate 11 Pro", TABLET, "Slate series", 2023, 799, "LM-S11P", ("Silver", "Graphite"),
      "An 11-inch pro tablet sold with Pulse Buds Lite.", ("S11 Pro", "S11P"), "8400 mAh", 11.0,
      (128, 256, 512, 1024), "Lumora L3 chip", "LumoraOS 5", bundled=("Pulse Buds Lite",)),
    _("Slate 12 Pro", TABLET, "Slate series", 2024, 1099, "LM-S12P", ("Silver", "Graphite"),
      "A 12.4-inch pro tablet sold with Pulse Buds Pro 2 and Lumora Pen 2.", ("S12 Pro", "S12P"),
      "10000 mAh", 12.4, (256, 512, 1024), "Lumora L4 chip", "LumoraOS 6", wireless=False,
      predecessor="Slate 11 Pro", bundled=("Pulse Buds Pro 2", "Lumora Pen 2")),
    _("Slate Kids", TABLET, "Slate series", 2024, 199, "LM-SK1", ("Sky Blue", "Coral"),
      "A rugged 8-inch tablet for children with parental controls.", ("Kids tablet",), "5000 mAh", 8.0,
      (32, 64), "Lumora K2 chip", "LumoraOS 6"),
    _("Slate Mini 2", TABLET, "Slate series", 2025, 499, "LM-SM2", ("Silver", "Lavender", "Forest Green"),
      "The second small Slate with an 8.5-inch screen.", ("Mini 2 tablet",), "5300 mAh", 8.5, (128, 256),
      "Lumora L5 chip", "LumoraOS 7", predecessor="Slate Mini"),
    # --- Vertex: laptops
    _("Vertex 13", LAPTOP, "Vertex series", 2021, 999, "LM-V13", ("Silver", "Graphite"),
      "A 13.3-inch laptop with an aluminium body.", ("V13",), "50 Wh", 13.3, (256, 512), "Lumora M1 chip",
      "LumoraBook OS 3"),
    _("Vertex Air", LAPTOP, "Vertex series", 2022, 1099, "LM-VA1", ("Silver", "Sand", "Midnight Black"),
      "A fanless 13.6-inch ultralight laptop.", ("Air laptop",), "52 Wh", 13.6, (256, 512), "Lumora M2 chip",
      "LumoraBook OS 3"),
    _("Vertex 14", LAPTOP, "Vertex series", 2023, 1299, "LM-V14", ("Silver", "Graphite"),
      "A 14-inch laptop for everyday work.", ("V14",), "60 Wh", 14.0, (512, 1024), "Lumora M2 chip",
      "LumoraBook OS 4", predecessor="Vertex 13"),
    _("Vertex 14 Pro", LAPTOP, "Vertex series", 2024, 1799, "LM-V14P", ("Silver", "Graphite"),
      "A 14.2-inch pro laptop with a mini-LED display.", ("V14 Pro", "V14P"), "72 Wh", 14.2,
      (512, 1024, 2048), "Lumora M3 chip", "LumoraBook OS 4"),
    _("Vertex 16 Pro", LAPTOP, "Vertex series", 2024, 2299, "LM-V16P", ("Graphite",),
      "A 16.2-inch workstation laptop sold with the 140W charger.", ("V16 Pro", "V16P"), "99 Wh", 16.2,
      (1024, 2048), "Lumora M3 Max chip", "LumoraBook OS 4", bundled=("Lumora 140W Charger",)),
    _("Vertex Air 2", LAPTOP, "Vertex series", 2025, 1199, "LM-VA2", ("Silver", "Sand", "Sky Blue"),
      "The second fanless ultralight with a longer battery life.", ("Air 2 laptop",), "55 Wh", 13.6,
      (256, 512, 1024), "Lumora M4 chip", "LumoraBook OS 5", predecessor="Vertex Air"),
    _("Vertex 15", LAPTOP, "Vertex series", 2025, 1399, "LM-V15", ("Silver", "Graphite", "Midnight Black"),
      "A 15.3-inch laptop with a large trackpad.", ("V15",), "65 Wh", 15.3, (512, 1024), "Lumora M4 chip",
      "LumoraBook OS 5", predecessor="Vertex 14"),
    # --- Pulse: earbuds and headphones
    _("Pulse Buds", BUDS, "Pulse series", 2021, 129, "LM-P1", ("Pearl White", "Charcoal"),
      "Lumora's first true wireless earbuds.", ("Pulse 1",), "400 mAh", chip="Lumora A1 audio chip",
      water="IPX4"),
    _("Pulse Buds Pro", BUDS, "Pulse series", 2022, 229, "LM-PP1", ("Pearl White", "Charcoal"),
      "Earbuds with active noise cancellation.", ("Buds Pro",), "480 mAh", chip="Lumora A1 audio chip",
      water="IPX4"),
    _("Pulse Buds 2", BUDS, "Pulse series", 2023, 149, "LM-P2", ("Pearl White", "Charcoal", "Sage Green"),
      "Everyday earbuds with a smaller case.", ("Buds 2",), "450 mAh", chip="Lumora A2 audio chip",
      water="IPX4", predecessor="Pulse Buds"),
    _("Pulse Buds Lite", BUDS, "Pulse series", 2023, 79, "LM-PL1", ("Pearl White", "Sky Blue"),
      "Budget earbuds without noise cancellation.", ("Buds Lite",), "350 mAh", chip="Lumora A1 audio chip",
      water="IPX2"),
    _("Pulse Buds Pro 2", BUDS, "Pulse series", 2024, 249, "LM-PP2", ("Pearl White", "Charcoal"),
      "Noise-cancelling earbuds whose case charges on MagDot pads.", ("Buds Pro 2",), "520 mAh",
      chip="Lumora A2 audio chip", wireless=True, water="IPX5", predecessor="Pulse Buds Pro"),
    _("Pulse Max", HEADPHONES, "Pulse series", 2024, 399, "LM-PM1", ("Charcoal", "Sand", "Sky Blue"),
      "Over-ear noise-cancelling headphones with 40-hour playback.", ("Pulse Max headphones",), "820 mAh",
      chip="Lumora A2 audio chip"),
    # --- Cadence: speakers
    _("Cadence One", SMART_SPEAKER, "Cadence series", 2021, 199, "LM-C1", ("Charcoal", "Pearl White"),
      "A smart home speaker with a voice assistant.", ("Cadence 1",), chip="Lumora A1 audio chip", port=None),
    _("Cadence Mini", SMART_SPEAKER, "Cadence series", 2022, 99, "LM-CM1", ("Charcoal", "Coral", "Sky Blue"),
      "A small smart speaker for bedrooms and kitchens.", ("Mini speaker",), chip="Lumora A1 audio chip",
      port=None),
    _("Cadence Go", PORTABLE_SPEAKER, "Cadence series", 2023, 149, "LM-CG1", ("Charcoal", "Forest Green"),
      "A rugged portable speaker with a strap.", ("Go speaker",), "4800 mAh", chip="Lumora A2 audio chip",
      water="IP67"),
    _("Nova speaker", PORTABLE_SPEAKER, "Cadence series", 2024, 179, "LM-CN1", ("Sand", "Charcoal", "Coral"),
      "A portable speaker with 360-degree sound, marketed as the Nova.", ("Nova", "Cadence Nova"),
      "5200 mAh", chip="Lumora A2 audio chip", water="IP67"),
    _("Cadence Soundbar", SOUNDBAR, "Cadence series", 2024, 499, "LM-CSB1", ("Charcoal",),
      "A Dolby Atmos soundbar for Lumen TVs.", ("Lumora Soundbar",), chip="Lumora A2 audio chip", port=None),
    _("Cadence One 2", SMART_SPEAKER, "Cadence series", 2025, 229, "LM-C2",
      ("Charcoal", "Pearl White", "Sand"),
      "The second smart home speaker with room calibration.", ("Cadence 2",), chip="Lumora A2 audio chip",
      port=None, predecessor="Cadence One"),
    # --- Tempo: smartwatches
    _("Tempo 3", WATCH, "Tempo series", 2021, 249, "LM-T3", ("Charcoal", "Silver"),
      "A fitness watch with heart-rate tracking.", ("T3",), "300 mAh", 1.6, (16,), "Lumora W1 chip",
      "TempoOS 2", port="Tempo magnetic connector", water="5 ATM"),
    _("Tempo 4", WATCH, "Tempo series", 2023, 299, "LM-T4", ("Charcoal", "Silver", "Rose Gold"),
      "A smartwatch with an always-on display and ECG.", ("T4",), "330 mAh", 1.7, (32,), "Lumora W2 chip",
      "TempoOS 3", port="Tempo magnetic connector", water="5 ATM", predecessor="Tempo 3"),
    _("Tempo 4 Sport", WATCH, "Tempo series", 2023, 349, "LM-T4S", ("Charcoal", "Crimson"),
      "A larger sports watch with dual-band GPS.", ("T4 Sport",), "420 mAh", 1.9, (32,), "Lumora W2 chip",
      "TempoOS 3", port="Tempo magnetic connector", water="10 ATM"),
    _("Tempo Kids", WATCH, "Tempo series", 2024, 149, "LM-TK1", ("Sky Blue", "Coral"),
      "A children's watch with location sharing.", ("Kids watch",), "280 mAh", 1.5, (8,), "Lumora W1 chip",
      "TempoOS 3", port="Tempo magnetic connector", water="5 ATM"),
    _("Tempo 5", WATCH, "Tempo series", 2025, 329, "LM-T5", ("Charcoal", "Silver", "Forest Green"),
      "The current smartwatch with sleep coaching.", ("T5",), "360 mAh", 1.8, (64,), "Lumora W3 chip",
      "TempoOS 4", port="Tempo magnetic connector", wireless=True, water="5 ATM", predecessor="Tempo 4"),
    # --- Lumen: TVs
    _("Lumen 43", TV, "Lumen series", 2022, 399, "LM-L43", ("Charcoal",),
      "A 43-inch 4K LED TV.", ("L43",), screen=43, chip="Lumora V1 picture processor", os="LumenTV OS 2",
      port=None),
    _("Lumen 55", TV, "Lumen series", 2022, 549, "LM-L55", ("Charcoal",),
      "A 55-inch 4K LED TV.", ("L55",), screen=55, chip="Lumora V1 picture processor", os="LumenTV OS 2",
      port=None),
    _("Lumen 55 OLED", TV, "Lumen series", 2023, 1299, "LM-L55O", ("Charcoal",),
      "A 55-inch OLED TV with a 120 Hz panel.", ("L55 OLED",), screen=55, chip="Lumora V2 picture processor",
      os="LumenTV OS 3", port=None),
    _("Lumen 65 OLED", TV, "Lumen series", 2024, 1799, "LM-L65O", ("Charcoal", "Silver"),
      "A 65-inch OLED TV sold with the Cadence Soundbar.", ("L65 OLED",), screen=65,
      chip="Lumora V2 picture processor", os="LumenTV OS 3", port=None, bundled=("Cadence Soundbar",)),
    _("Lumen 75 QLED", TV, "Lumen series", 2024, 1499, "LM-L75Q", ("Charcoal",),
      "A 75-inch quantum-dot TV for large rooms.", ("L75 QLED",), screen=75,
      chip="Lumora V2 picture processor", os="LumenTV OS 3", port=None),
    _("Lumen 55 OLED 2", TV, "Lumen series", 2025, 1399, "LM-L55O2", ("Charcoal", "Silver"),
      "The second 55-inch OLED with a brighter panel.", ("L55 OLED 2",), screen=55,
      chip="Lumora V3 picture processor", os="LumenTV OS 4", port=None, predecessor="Lumen 55 OLED"),
)
del _

ProductRule = Callable[[Product], bool]


@dataclass(frozen=True)
class Accessory:
    """An accessory; ``fits`` picks the products (``fits_accessories`` the accessories) it works with."""

    key: str
    kind: str
    price: int
    blurb: str
    fits: ProductRule = lambda p: False
    aliases: tuple[str, ...] = ()
    power: str | None = None  # output power of chargers
    connector: str | None = None
    colours: tuple[str, ...] = ()
    fits_accessories: tuple[str, ...] = ()


def _kind(*kinds: str) -> ProductRule:
    return lambda p: p.kind in kinds


def _named(*keys: str) -> ProductRule:
    return lambda p: p.key in keys


def _usb_c(*kinds: str) -> ProductRule:
    return lambda p: p.port == "USB-C" and (not kinds or p.kind in kinds)


def _cases() -> tuple[Accessory, ...]:
    """Silicone cases for recent phones, clear cases and glass protectors for the Pro-class ones."""
    out: list[Accessory] = []
    for phone in ("Aurora X12", "Aurora X12 Pro", "Aurora X13", "Aurora X13 Pro", "Aurora X14",
                  "Aurora X14 Pro", "Aurora X14 Ultra", "Aurora Fold 2", "Kite 5", "Kite 5 Plus", "Kite 6",
                  "Nova phone"):
        short = phone.removeprefix("Aurora ").removesuffix(" phone")
        out.append(Accessory(f"{short} Silicone Case", "case", 49 if phone.startswith("Aurora") else 29,
                             f"A soft-touch silicone case made for the {phone}.", _named(phone),
                             colours=("Charcoal", "Sage Green", "Coral")))
        if "Pro" in phone or "Ultra" in phone:
            out.append(Accessory(f"{short} Clear Case", "case", 39,
                                 f"A transparent case with MagDot magnets for the {phone}.", _named(phone)))
        if phone.startswith("Aurora X13") or phone.startswith("Aurora X14"):
            out.append(Accessory(f"{short} Glass Protector", "screen protector", 29,
                                 f"A tempered-glass screen protector cut for the {phone}.", _named(phone)))
    return tuple(out)


ACCESSORIES: tuple[Accessory, ...] = (
    # chargers
    Accessory("Lumora 20W USB-C Charger", "charger", 19, "A compact wall charger for phones and earbuds.",
              lambda p: (p.port == "USB-C" and p.kind in (PHONE, BUDS, HEADPHONES, PORTABLE_SPEAKER))
              or p.key == "Slate Kids", ("20W charger", "20 watt charger"), "20 W", "USB-C"),
    Accessory("Lumora 30W USB-C Charger", "charger", 29, "A wall charger that fast-charges phones.",
              _usb_c(PHONE, TABLET, BUDS, HEADPHONES, PORTABLE_SPEAKER), ("30W charger", "30 watt charger"),
              "30 W", "USB-C"),
    Accessory("Lumora 45W Dual Charger", "charger", 49, "A two-port charger for a phone and a tablet.",
              _usb_c(PHONE, TABLET), ("45W charger", "dual charger"), "45 W", "USB-C"),
    Accessory("Lumora 65W GaN Charger", "charger", 59, "A small gallium-nitride charger for laptops.",
              lambda p: p.port == "USB-C" and (p.kind in (PHONE, TABLET) or (p.kind == LAPTOP
                                               and p.key not in ("Vertex 16 Pro", "Vertex 14 Pro"))),
              ("65W charger", "65W GaN"), "65 W", "USB-C"),
    Accessory("Lumora 100W GaN Charger", "charger", 89, "A high-power charger for Vertex and Slate.",
              _usb_c(LAPTOP, TABLET), ("100W charger", "100W GaN"), "100 W", "USB-C"),
    Accessory("Lumora 140W Charger", "charger", 109, "The charger needed to fast-charge the largest laptops.",
              _named("Vertex 14 Pro", "Vertex 16 Pro", "Vertex 15"), ("140W charger",), "140 W", "USB-C"),
    Accessory("MagDot Wireless Charger", "wireless charger", 39, "A magnetic wireless charging pad.",
              lambda p: p.wireless, ("MagDot pad", "MagDot charger"), "15 W", "MagDot"),
    Accessory("MagDot Duo Stand", "wireless charger", 79, "A stand that charges a phone and a watch.",
              lambda p: (p.wireless and p.kind in (PHONE, WATCH)) or p.key in ("Tempo 4", "Tempo 4 Sport"),
              ("Duo Stand",), "15 W", "MagDot"),
    Accessory("Tempo Magnetic Charger", "charger", 29, "The puck charger that ships with every Tempo watch.",
              _kind(WATCH), ("Tempo charger", "watch charger"), "5 W", "Tempo magnetic connector"),
    Accessory("Lumora Car Charger", "charger", 25, "A 30 W car charger with a USB-C port.",
              _usb_c(PHONE, BUDS), ("car charger",), "30 W", "USB-C"),
    Accessory("Lumora Power Bank 10000", "power bank", 49, "A 10000 mAh pocket battery pack.",
              lambda p: (p.port == "USB-C" and p.kind in (PHONE, BUDS, HEADPHONES))
              or p.key in ("Slate Kids", "Slate Mini", "Slate Mini 2"),
              ("Power Bank 10K", "10000 mAh power bank"), "20 W", "USB-C"),
    # cables and adapters
    Accessory("USB-C Cable 1m", "cable", 15, "A one-metre USB-C to USB-C charging cable.", _usb_c(),
              ("1m USB-C cable",), connector="USB-C"),
    Accessory("USB-C Cable 2m", "cable", 19, "A two-metre USB-C to USB-C charging cable.", _usb_c(),
              ("2m USB-C cable",), connector="USB-C"),
    Accessory("USB-C to USB-A Cable", "cable", 15, "A cable for older USB-A chargers and computers.",
              _usb_c(PHONE, BUDS, PORTABLE_SPEAKER), ("USB-A cable",), connector="USB-C"),
    Accessory("Braided 240W USB-C Cable", "cable", 35, "A braided two-metre cable rated for 240 W.",
              _usb_c(LAPTOP, TABLET), ("240W cable", "braided cable"), connector="USB-C"),
    Accessory("HDMI 2.1 Cable", "cable", 25, "A two-metre HDMI cable for 4K 120 Hz video.",
              lambda p: p.kind in (TV, SOUNDBAR), ("HDMI cable",), connector="HDMI"),
    Accessory("USB-C to HDMI Adapter", "adapter", 39, "Connects a laptop, tablet or Pro phone to a TV.",
              lambda p: p.kind == LAPTOP or p.key in ("Slate 11 Pro", "Slate 12 Pro", "Aurora X13 Pro",
                                                      "Aurora X14 Pro", "Aurora X14 Ultra"),
              ("HDMI adapter",), connector="USB-C"),
    Accessory("USB-C Headphone Adapter", "adapter", 9, "A USB-C to 3.5 mm headphone-jack adapter.",
              _usb_c(PHONE, TABLET), ("headphone adapter", "headphone jack adapter"), connector="USB-C"),
    Accessory("Lumora Multiport Adapter", "adapter", 69, "Adds HDMI, USB-A, Ethernet and an SD slot.",
              lambda p: p.kind == LAPTOP or p.key in ("Slate 11 Pro", "Slate 12 Pro"),
              ("multiport adapter",), connector="USB-C"),
    Accessory("Lumora Travel Plug Kit", "adapter", 29, "Swappable plugs for travelling with a charger.",
              aliases=("travel plug kit", "travel adapter"),
              fits_accessories=("Lumora 20W USB-C Charger", "Lumora 30W USB-C Charger",
                                "Lumora 45W Dual Charger", "Lumora 65W GaN Charger",
                                "Lumora 100W GaN Charger", "Lumora 140W Charger")),
    # docks
    Accessory("Vertex Dock", "dock", 199, "A desk dock that drives two monitors and charges the laptop.",
              lambda p: p.kind == LAPTOP and p.year >= 2023, ("laptop dock",), connector="USB-C"),
    Accessory("Slate Charging Dock", "dock", 59, "A stand that charges a Slate through its pogo pins.",
              lambda p: p.kind == TABLET and p.key != "Slate Kids", ("tablet dock",)),
    Accessory("Tempo Charging Dock", "dock", 39, "A bedside dock for Tempo watches.", _kind(WATCH),
              ("watch dock",), connector="Tempo magnetic connector"),
    # tablet and laptop accessories
    Accessory("Slate 11 Folio", "keyboard cover", 69, "A folding cover that also props up the Slate 11.",
              _named("Slate 11"), ("S11 Folio",)),
    Accessory("Slate Pro Keyboard Folio", "keyboard cover", 249, "A backlit keyboard cover with a trackpad.",
              _named("Slate 11 Pro", "Slate 12 Pro"), ("Pro Keyboard Folio", "Slate keyboard")),
    Accessory("Slate Mini Cover", "case", 49, "A magnetic cover for the small Slates.",
              _named("Slate Mini", "Slate Mini 2"), ("Mini Cover",)),
    Accessory("Slate Kids Bumper Case", "case", 29, "A foam bumper with a handle for the Slate Kids.",
              _named("Slate Kids"), ("Kids bumper",)),
    Accessory("Lumora Pen", "stylus", 99, "A pressure-sensitive stylus for Slate tablets.",
              _named("Slate 10", "Slate 11", "Slate Mini"), ("Pen 1", "first-generation pen")),
    Accessory("Lumora Pen 2", "stylus", 129, "A stylus with magnetic charging and a squeeze gesture.",
              _named("Slate 11 Pro", "Slate 12 Pro", "Slate Mini 2"), ("Pen 2", "second-generation pen")),
    Accessory("Vertex 14 Sleeve", "sleeve", 49, "A felt sleeve for 14-inch laptops.",
              _named("Vertex 13", "Vertex Air", "Vertex Air 2", "Vertex 14", "Vertex 14 Pro"),
              ("14-inch sleeve",)),
    Accessory("Vertex 16 Sleeve", "sleeve", 59, "A felt sleeve for 15- and 16-inch laptops.",
              _named("Vertex 15", "Vertex 16 Pro"), ("16-inch sleeve",)),
    # watch bands
    Accessory("Tempo Sport Band", "watch band", 49, "A breathable fluoroelastomer band.",
              _named("Tempo 4", "Tempo 4 Sport", "Tempo 5"), ("sport band",),
              colours=("Charcoal", "Crimson", "Sky Blue")),
    Accessory("Tempo Leather Band", "watch band", 79, "A leather band with a steel buckle.",
              _named("Tempo 4", "Tempo 5"), ("leather band",), colours=("Sand", "Charcoal")),
    Accessory("Tempo Steel Link Band", "watch band", 149, "A brushed-steel link bracelet.",
              _named("Tempo 4", "Tempo 4 Sport", "Tempo 5"), ("steel band", "link bracelet")),
    Accessory("Tempo Classic Band", "watch band", 39, "A silicone band for the narrower Tempo 3.",
              _named("Tempo 3"), ("classic band",)),
    Accessory("Tempo Kids Band", "watch band", 25, "A soft band sized for children's wrists.",
              _named("Tempo Kids"), ("kids band",), colours=("Sky Blue", "Coral")),
    # audio accessories
    Accessory("Pulse Foam Ear Tips", "ear tips", 19, "Memory-foam tips for a tighter seal.",
              _named("Pulse Buds Pro", "Pulse Buds Pro 2"), ("foam tips", "foam ear tips")),
    Accessory("Pulse Max Carry Case", "case", 39, "A hard-shell travel case for the Pulse Max.",
              _named("Pulse Max"), ("headphone case",)),
    Accessory("Cadence Battery Base", "battery base", 49, "A base that makes a home speaker portable.",
              _named("Cadence One", "Cadence One 2"), ("Cadence base",)),
    Accessory("Cadence Wall Mount", "wall mount", 29, "A bracket that hangs a small speaker on the wall.",
              _named("Cadence Mini", "Cadence One 2"), ("speaker wall mount",)),
    # TV accessories
    Accessory("Lumen Voice Remote", "remote control", 39, "A backlit remote with a microphone button.",
              _kind(TV), ("voice remote", "TV remote")),
    Accessory("Lumen Slim Wall Mount", "wall mount", 79, "A low-profile tilting wall mount.", _kind(TV),
              ("TV wall mount", "slim mount")),
    Accessory("Lumen Floor Stand", "stand", 199, "A floor stand with cable management for large TVs.",
              lambda p: p.kind == TV and (p.screen or 0) >= 55, ("TV floor stand",)),
    *_cases(),
)


@dataclass(frozen=True)
class Warranty:
    key: str
    length: str
    applies: ProductRule  # which products it covers (accessories all get the accessory warranty)
    covers: tuple[str, ...]
    voided_by: tuple[str, ...]
    aliases: tuple[str, ...] = ()


_KIDS = ("Slate Kids", "Tempo Kids")
ACCESSORY_WARRANTY = "Lumora Accessory Warranty"
WARRANTIES = (
    Warranty("Lumora Limited Warranty", "12 months",
             lambda p: p.kind in (PHONE, TABLET, WATCH, *AUDIO, *SPEAKERS) and p.key not in _KIDS,
             ("manufacturing defects", "battery below 80 percent capacity"),
             ("unauthorised repair", "physical damage", "liquid damage", "unofficial firmware",
              "removed serial label"), ("standard warranty", "limited warranty")),
    Warranty("Lumora Laptop Warranty", "24 months", _kind(LAPTOP),
             ("manufacturing defects", "battery below 80 percent capacity", "keyboard failure"),
             ("unauthorised repair", "physical damage", "liquid damage", "opened chassis"),
             ("laptop warranty",)),
    Warranty("Lumora TV Warranty", "24 months", _kind(TV), ("manufacturing defects", "dead pixels"),
             ("unauthorised repair", "physical damage", "commercial use", "improper wall mounting"),
             ("TV warranty",)),
    Warranty("Lumora Kids Warranty", "24 months", _named(*_KIDS),
             ("manufacturing defects", "accidental drops"), ("unauthorised repair", "removed serial label"),
             ("kids warranty",)),
    Warranty(ACCESSORY_WARRANTY, "12 months", lambda p: False, ("manufacturing defects",),
             ("physical damage", "use with uncertified devices"), ("accessory warranty",)),
)


@dataclass(frozen=True)
class ReturnPolicy:
    key: str
    window: str
    applies: ProductRule
    requires: tuple[str, ...]
    restocking_fee: str | None = None
    aliases: tuple[str, ...] = ()


STANDARD_RETURNS = "Standard Return Policy"
RETURN_POLICIES = (
    ReturnPolicy(STANDARD_RETURNS, "30 days", lambda p: p.kind not in (*AUDIO, TV),
                 ("proof of purchase", "original packaging", "all included accessories"),
                 aliases=("standard returns", "30-day return policy")),
    ReturnPolicy("Audio Return Policy", "14 days", _kind(*AUDIO),
                 ("proof of purchase", "unused ear tips"), aliases=("earbuds return policy",)),
    ReturnPolicy("TV Return Policy", "15 days", _kind(TV),
                 ("proof of purchase", "original packaging", "scheduled pickup"), restocking_fee="10 percent",
                 aliases=("television return policy",)),
)


@dataclass(frozen=True)
class Plan:
    key: str
    duration: str
    price: int
    applies: ProductRule
    covers: tuple[str, ...]
    blurb: str
    excludes: tuple[str, ...] = ()
    service_fee: int | None = None
    aliases: tuple[str, ...] = ()


PLANS = (
    Plan("LumoraCare", "24 months", 99, _kind(PHONE, TABLET, WATCH, *AUDIO, *SPEAKERS),
         ("accidental damage", "battery service", "priority support"),
         "The basic protection plan: two accidental-damage repairs a year for a service fee.",
         ("cosmetic damage", "intentional damage"), 29, ("Lumora Care",)),
    Plan("LumoraCare Plus", "24 months", 149, _kind(PHONE, TABLET, WATCH),
         ("accidental damage", "battery service", "priority support", "theft and loss",
          "express replacement"),
         "LumoraCare with theft and loss cover and next-day replacement devices.",
         ("intentional damage",), 49, ("Lumora Care Plus", "Care Plus")),
    Plan("Screen Guard Plan", "12 months", 49, _kind(PHONE, TABLET), ("screen repair",),
         "One free screen repair within a year.", ("back glass repair",), aliases=("screen guard",)),
    Plan("Battery Renew Plan", "36 months", 39, _kind(PHONE, WATCH, *AUDIO), ("battery service",),
         "A free battery replacement when capacity falls below 80 percent.", aliases=("battery plan",)),
    Plan("LumoraCare for Laptops", "36 months", 249, _kind(LAPTOP),
         ("accidental damage", "battery service", "on-site repair", "priority support"),
         "Three years of laptop protection with on-site repair.", ("cosmetic damage",), 99,
         ("laptop care plan",)),
    Plan("LumenCare TV Plan", "48 months", 179, _kind(TV),
         ("panel defects", "power surge damage", "on-site repair"),
         "Four years of TV cover including power surges.", aliases=("LumenCare", "TV care plan")),
)


@dataclass(frozen=True)
class Store:
    key: str
    city: str
    address: str
    hours: tuple[str, ...]
    flagship: bool = False
    alias: str = ""


COUNTRIES = {
    "Lisbon": "Portugal", "Porto": "Portugal", "Madrid": "Spain", "Barcelona": "Spain",
    "Berlin": "Germany", "Munich": "Germany", "Hamburg": "Germany", "Paris": "France", "Lyon": "France",
    "Amsterdam": "Netherlands", "Milan": "Italy", "Vienna": "Austria", "Dublin": "Ireland",
    "London": "United Kingdom", "Manchester": "United Kingdom", "Copenhagen": "Denmark", "Warsaw": "Poland",
    "Stockholm": "Sweden",
}
_WEEK = "Mon-Sat 10:00-20:00"
_LATE = "Mon-Sat 10:00-21:00"
_SUN = "Sun 11:00-18:00"
_OFFICE = "Mon-Fri 09:00-19:00"
_SAT = "Sat 10:00-18:00"
STORES = (
    Store("Lumora Store Lisbon Chiado", "Lisbon", "Rua Garrett 42", (_LATE, _SUN), True, "Chiado store"),
    Store("Lumora Store Lisbon Colombo", "Lisbon", "Centro Colombo level 1", ("Mon-Sun 10:00-23:00",),
          alias="Colombo store"),
    Store("Lumora Store Porto", "Porto", "Rua de Santa Catarina 210", (_WEEK,), alias="Porto store"),
    Store("Lumora Store Madrid Gran Via", "Madrid", "Gran Via 31", (_LATE, _SUN), True, "Madrid store"),
    Store("Lumora Store Barcelona", "Barcelona", "Passeig de Gracia 77", (_LATE,), alias="Barcelona store"),
    Store("Lumora Store Berlin Mitte", "Berlin", "Friedrichstrasse 120", (_WEEK,), True, "Berlin store"),
    Store("Lumora Store Munich", "Munich", "Kaufingerstrasse 9", (_WEEK,), alias="Munich store"),
    Store("Lumora Store Hamburg", "Hamburg", "Jungfernstieg 16", (_OFFICE, _SAT), alias="Hamburg store"),
    Store("Lumora Store Paris Opera", "Paris", "Boulevard Haussmann 58", (_LATE, _SUN), True, "Paris store"),
    Store("Lumora Store Lyon", "Lyon", "Rue de la Republique 45", (_WEEK,), alias="Lyon store"),
    Store("Lumora Store Amsterdam", "Amsterdam", "Kalverstraat 101", (_WEEK, _SUN), alias="Amsterdam store"),
    Store("Lumora Store Milan", "Milan", "Corso Vittorio Emanuele 8", (_LATE, _SUN), alias="Milan store"),
    Store("Lumora Store Vienna", "Vienna", "Mariahilfer Strasse 54", (_OFFICE, _SAT), alias="Vienna store"),
    Store("Lumora Store Dublin", "Dublin", "Grafton Street 30", (_WEEK, _SUN), alias="Dublin store"),
    Store("Lumora Store London Regent Street", "London", "Regent Street 200", ("Mon-Sun 09:00-21:00",), True,
          "London store"),
    Store("Lumora Store Manchester", "Manchester", "Market Street 66", (_WEEK, _SUN),
          alias="Manchester store"),
    Store("Lumora Store Copenhagen", "Copenhagen", "Stroget 23", (_OFFICE, _SAT),
          alias="Copenhagen store"),
    Store("Lumora Store Warsaw", "Warsaw", "Nowy Swiat 15", (_WEEK,), alias="Warsaw store"),
    Store("Lumora Store Stockholm", "Stockholm", "Drottninggatan 52", (_OFFICE, _SAT),
          alias="Stockholm store"),
)
STORE_SERVICES = ("same-day screen repair", "battery replacement", "trade-in", "device setup",
                  "free workshops", "business sales", "TV installation booking")


@dataclass(frozen=True)
class Procedure:
    key: str
    applies_to: tuple[str, ...]  # series (or product) keys
    steps: tuple[str, str, str]
    takes: str
    aliases: tuple[str, ...] = ()


_PHONES_TABLETS = ("Aurora series", "Kite series", "Slate series")
PROCEDURES = (
    Procedure("Clean the charging port", (*_PHONES_TABLETS, "Pulse series"),
              ("Power off the device", "Remove lint from the port with a wooden toothpick",
               "Reconnect the charger and wait one minute"), "5 minutes", ("port cleaning",)),
    Procedure("Force restart", _PHONES_TABLETS,
              ("Press and release volume up", "Press and release volume down",
               "Hold the side button until the logo appears"), "1 minute", ("hard reset", "force reboot")),
    Procedure("Check battery usage", (*_PHONES_TABLETS, "Tempo series"),
              ("Open Settings and tap Battery", "Find apps with high background use",
               "Restrict background activity for those apps"), "5 minutes"),
    Procedure("Reset the earbuds", ("Pulse series",),
              ("Place both earbuds in the case",
               "Hold the case button for 15 seconds until the light flashes amber",
               "Pair the earbuds again from Bluetooth settings"), "3 minutes", ("earbud reset",)),
    Procedure("Clean the earbud mesh", ("Pulse series",),
              ("Remove the ear tips", "Brush the mesh gently with a dry soft brush", "Refit the ear tips"),
              "5 minutes"),
    Procedure("Laptop power reset", ("Vertex series",),
              ("Unplug the charger and all accessories", "Hold the power button for 20 seconds",
               "Reconnect the charger and press the power button"), "2 minutes", ("SMC reset",)),
    Procedure("Update laptop firmware", ("Vertex series",),
              ("Connect to power and Wi-Fi", "Open LumoraBook Settings and choose Update",
               "Restart when the update finishes"), "20 minutes", ("firmware update",)),
    Procedure("Clean the laptop vents", ("Vertex series",),
              ("Shut down the laptop and unplug it",
               "Blow compressed air into the side vents in short bursts",
               "Keep the laptop on a hard flat surface while it works"), "10 minutes"),
    Procedure("Re-pair the watch", ("Tempo series",),
              ("Unpair the watch in the Lumora Companion app", "Hold the crown until the watch resets",
               "Pair the watch again from the app"), "10 minutes", ("watch re-pairing",)),
    Procedure("Check the TV input source", ("Lumen series",),
              ("Press the Input button on the remote", "Choose the HDMI port the device is plugged into",
               "Reseat the HDMI cable at both ends"), "2 minutes"),
    Procedure("Power cycle the TV", ("Lumen series",),
              ("Unplug the TV from the wall socket", "Wait 60 seconds", "Plug the TV back in and turn it on"),
              "2 minutes", ("TV power cycle",)),
    Procedure("Re-pair the voice remote", ("Lumen series",),
              ("Point the remote at the TV", "Hold Home and Back together for 5 seconds",
               "Wait for the pairing message on screen"), "1 minute"),
    Procedure("Reset the speaker", ("Cadence series",),
              ("Hold the play and volume-down buttons for 10 seconds", "Wait for the chime",
               "Set up the speaker again in the Lumora Home app"), "5 minutes", ("speaker reset",)),
    Procedure("Reset network settings", (*_PHONES_TABLETS, "Cadence series"),
              ("Open Settings and tap General", "Choose Reset network settings and confirm",
               "Join your Wi-Fi network again"), "5 minutes"),
    Procedure("Use a certified charger", (*_PHONES_TABLETS, "Vertex series", "Pulse series"),
              ("Unplug any third-party charger", "Connect a Lumora or certified USB-C charger",
               "Charge on a hard surface away from bedding"), "1 minute"),
    Procedure("Re-pair the Lumora Pen", ("Slate series",),
              ("Open Bluetooth settings and forget the pen", "Attach the pen to the magnetic strip",
               "Tap Connect when the prompt appears"), "2 minutes", ("pen pairing",)),
    Procedure("Free up storage and retry the update", (*_PHONES_TABLETS, "Tempo series"),
              ("Delete unused apps and large videos", "Make sure at least 6 GB is free",
               "Open Software Update and tap Retry"), "15 minutes"),
    Procedure("Clean the camera lens", ("Aurora series", "Kite series"),
              ("Remove the case", "Wipe the lens with a dry microfibre cloth", "Take a test photo"),
              "1 minute"),
    Procedure("Align the device on the MagDot charger", ("Aurora series", "Pulse series", "Tempo series"),
              ("Remove thick or metal cases", "Centre the device on the MagDot charger until it snaps",
               "Check that the charging icon appears"), "1 minute"),
)


@dataclass(frozen=True)
class Symptom:
    key: str
    resolved_by: tuple[str, ...]
    aliases: tuple[str, ...] = ()


SYMPTOMS = (
    Symptom("Phone does not charge", ("Clean the charging port", "Use a certified charger"),
            ("phone not charging", "phone won't charge")),
    Symptom("Battery drains quickly", ("Check battery usage",), ("battery drain", "poor battery life")),
    Symptom("Screen is frozen", ("Force restart",), ("frozen screen", "unresponsive screen")),
    Symptom("Earbuds will not pair", ("Reset the earbuds",),
            ("earbuds won't pair", "earbuds not connecting")),
    Symptom("One earbud has no sound", ("Clean the earbud mesh", "Reset the earbuds"),
            ("one earbud silent", "no sound in one earbud")),
    Symptom("Laptop will not turn on", ("Laptop power reset",), ("laptop won't turn on", "laptop dead")),
    Symptom("Laptop overheats", ("Clean the laptop vents", "Update laptop firmware"),
            ("laptop overheating", "laptop too hot")),
    Symptom("Watch does not sync", ("Re-pair the watch",), ("watch not syncing", "watch won't sync")),
    Symptom("TV shows no picture", ("Check the TV input source", "Power cycle the TV"),
            ("black TV screen", "TV no picture")),
    Symptom("TV remote does not respond", ("Re-pair the voice remote",), ("remote not working",)),
    Symptom("Speaker keeps disconnecting", ("Reset the speaker", "Reset network settings"),
            ("speaker dropping connection",)),
    Symptom("Wi-Fi keeps dropping", ("Reset network settings",), ("wifi disconnects", "Wi-Fi drops")),
    Symptom("Device gets hot while charging", ("Use a certified charger",), ("hot while charging",)),
    Symptom("Pen is not writing", ("Re-pair the Lumora Pen",), ("stylus not working", "pen not working")),
    Symptom("Software update fails", ("Free up storage and retry the update",),
            ("update failed", "update won't install")),
    Symptom("Photos look blurry", ("Clean the camera lens",), ("blurry photos", "blurry camera")),
    Symptom("Wireless charging does not start", ("Align the device on the MagDot charger",),
            ("wireless charging not working", "MagDot not charging")),
    Symptom("Tablet does not charge", ("Clean the charging port", "Use a certified charger"),
            ("tablet not charging", "tablet won't charge")),
    Symptom("Laptop battery drains quickly", ("Update laptop firmware",), ("laptop battery drain",)),
)
