"""Who lives in the demo tenant: the named personas of the story and a generated population.

The roster is columnar (one list or byte array per property) so that 200,000 users cost a few tens of
megabytes; JSON documents are only built while a file is being streamed.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field

from graphlattice.demo._common import DAY, DOMAIN, NOW_TS, Gen

# -- method profiles ---------------------------------------------------------------------------------------
# Which sign-in methods a user has registered (see _methods.py for what each one produces).
PROFILES: tuple[str, ...] = (
    "none",  # password only
    "email",  # password + email (SSPR only; not MFA)
    "sms",  # password + mobile phone
    "sms_voice",  # mobile + office phone
    "voice",  # office phone only
    "push",  # Authenticator, notification only
    "push_sms",  # Authenticator + mobile phone
    "push_oath",  # Authenticator + software OATH token
    "passwordless",  # Authenticator registered for passwordless phone sign-in + mobile phone
    "fido2",  # security key + Authenticator
    "whfb",  # Windows Hello for Business + Authenticator
    "fido2_whfb",  # security key + Windows Hello + Authenticator
    "fido2x2",  # two security keys (break-glass)
    "guest",  # nothing registered in this tenant
)
P = {name: code for code, name in enumerate(PROFILES)}
WEAK_ONLY = frozenset({P["sms"], P["sms_voice"], P["voice"]})
NO_MFA = frozenset({P["none"], P["email"], P["guest"]})
PHISHING_RESISTANT = frozenset({P["fido2"], P["whfb"], P["fido2_whfb"], P["fido2x2"]})

_MEMBER_MIX: tuple[tuple[str, float], ...] = (
    ("none", 2.5),
    ("email", 2.5),
    ("sms", 7.0),
    ("sms_voice", 2.0),
    ("voice", 1.0),
    ("push", 45.0),
    ("push_sms", 20.0),
    ("push_oath", 5.0),
    ("passwordless", 8.0),
    ("fido2", 4.0),
    ("whfb", 3.0),
)
_ADMIN_MIX: tuple[tuple[str, float], ...] = (
    ("fido2", 55.0),
    ("whfb", 10.0),
    ("push_sms", 25.0),
    ("sms", 10.0),
)

# -- organisation ------------------------------------------------------------------------------------------
DEPARTMENTS: tuple[str, ...] = (
    "Engineering",
    "Sales",
    "Customer Support",
    "Operations",
    "Finance",
    "Marketing",
    "Research",
    "Human Resources",
    "IT Operations",
    "IT Service Desk",
    "Facilities",
    "Legal",
    "Procurement",
    "IT Security",
)
_DEPT_WEIGHTS = (20, 18, 14, 12, 7, 7, 6, 4, 4, 3, 3, 2, 2, 2)
DEPT_INDEX = {name: i for i, name in enumerate(DEPARTMENTS)}
NO_DEPT = 255

TITLES: dict[str, tuple[str, ...]] = {
    "Engineering": ("Software Engineer", "Senior Software Engineer", "Engineering Manager", "QA Engineer"),
    "Sales": ("Account Executive", "Sales Development Representative", "Regional Sales Manager"),
    "Customer Support": ("Support Specialist", "Support Team Lead", "Customer Success Manager"),
    "Operations": ("Operations Analyst", "Logistics Coordinator", "Operations Manager"),
    "Finance": ("Accountant", "Financial Analyst", "Payroll Specialist"),
    "Marketing": ("Marketing Specialist", "Content Strategist", "Brand Manager"),
    "Research": ("Research Scientist", "Data Scientist", "Lab Technician"),
    "Human Resources": ("HR Business Partner", "Recruiter", "HR Advisor"),
    "IT Operations": ("Systems Engineer", "Cloud Engineer", "Network Engineer"),
    "IT Service Desk": ("Service Desk Analyst", "Desktop Support Technician"),
    "Facilities": ("Facilities Technician", "Office Coordinator"),
    "Legal": ("Legal Counsel", "Paralegal"),
    "Procurement": ("Buyer", "Procurement Specialist"),
    "IT Security": ("Security Analyst", "Security Engineer"),
}

# Countries the company normally works from, with an office name and two cities each.
COUNTRIES: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...] = (
    (
        "NL",
        "Amsterdam HQ",
        ("Amsterdam", "Utrecht", "Rotterdam"),
        ("Noord-Holland", "Utrecht", "Zuid-Holland"),
    ),
    ("DE", "Berlin Office", ("Berlin", "Hamburg"), ("Berlin", "Hamburg")),
    ("GB", "London Office", ("London", "Manchester"), ("England", "England")),
    ("BE", "Brussels Office", ("Brussels", "Antwerp"), ("Brussels", "Antwerp")),
)
_COUNTRY_WEIGHTS = (55, 20, 15, 10)

GIVEN = (
    "Aisha",
    "Bram",
    "Chloe",
    "Daan",
    "Elif",
    "Finn",
    "Greta",
    "Hugo",
    "Ines",
    "Jonas",
    "Kiara",
    "Lars",
    "Maya",
    "Niels",
    "Olivia",
    "Pieter",
    "Rosa",
    "Sven",
    "Tessa",
    "Umar",
    "Vera",
    "Wout",
    "Yara",
    "Zoe",
    "Amir",
    "Beatrix",
    "Cas",
    "Dilan",
    "Emma",
    "Fatima",
    "Gijs",
    "Hannah",
    "Isaac",
    "Julia",
    "Koen",
    "Lotte",
    "Milan",
    "Nora",
    "Oscar",
    "Priya",
    "Ruben",
    "Sara",
    "Thijs",
    "Lina",
    "Victor",
    "Willem",
    "Xander",
    "Yusuf",
    "Anouk",
    "Bas",
    "Charlotte",
    "Dirk",
    "Eva",
    "Felix",
    "Hanna",
    "Ivo",
    "Jasper",
    "Kim",
    "Luuk",
    "Mirte",
)
SURNAMES = (
    "de Vries",
    "Bakker",
    "Visser",
    "Smit",
    "Meijer",
    "Mulder",
    "Bos",
    "Vos",
    "Peters",
    "Hendriks",
    "Dekker",
    "Brouwer",
    "Dijkstra",
    "Schouten",
    "Koster",
    "Willems",
    "Hoekstra",
    "Maas",
    "Verhoeven",
    "Kok",
    "Schmidt",
    "Wagner",
    "Becker",
    "Hoffmann",
    "Keller",
    "Richter",
    "Wolf",
    "Neumann",
    "Braun",
    "Krause",
    "Walker",
    "Hughes",
    "Patel",
    "Clarke",
    "Evans",
    "Turner",
    "Morgan",
    "Price",
    "Shaw",
    "Wright",
    "Janssens",
    "Maes",
    "Claes",
    "Peeters",
    "Wouters",
    "Goossens",
    "Martens",
    "Lambert",
    "Dubois",
    "Leroy",
    "Yilmaz",
    "Kaya",
    "El Amrani",
    "Nowak",
    "Kowalski",
    "Rossi",
    "Garcia",
    "Silva",
    "Novak",
    "Horvat",
)
PARTNERS = (
    ("fabrikam.example", "Fabrikam"),
    ("northwind.example", "Northwind"),
    ("adatum.example", "Adatum"),
)

# -- flags -------------------------------------------------------------------------------------------------
GUEST = 1
DISABLED = 2
ADMIN = 4
SYNCED = 8


@dataclass(frozen=True, slots=True)
class Persona:
    key: str
    given: str | None
    surname: str | None
    local: str
    department: str | None
    job_title: str | None
    profile: str
    created_days_ago: float
    display_name: str | None = None
    guest_of: str | None = None  # partner domain for a guest
    country: str = "NL"

    @property
    def name(self) -> str:
        return self.display_name or f"{self.given} {self.surname}"


# The story's cast. Roles are granted in _directory.py; methods beyond the profile in _methods.py.
PERSONAS: tuple[Persona, ...] = (
    Persona(
        "defender",
        "Avery",
        "Lindqvist",
        "avery.lindqvist",
        "IT Security",
        "Head of Identity and Access",
        "fido2_whfb",
        1500,
    ),
    Persona(
        "breakglass1",
        None,
        None,
        "emergency-access-01",
        None,
        None,
        "fido2x2",
        1400,
        display_name="Emergency Access 1",
    ),
    Persona(
        "breakglass2",
        None,
        None,
        "emergency-access-02",
        None,
        None,
        "sms",
        1400,
        display_name="Emergency Access 2",
    ),
    Persona(
        "operator", "Jordan", "Pike", "jordan.pike", "IT Service Desk", "Service Desk Team Lead", "push", 1100
    ),
    Persona("paa", "Sam", "Okafor", "sam.okafor", "IT Operations", "Identity Engineer", "sms", 900),
    Persona(
        "helpdesk_aa",
        "Casey",
        "Novak",
        "casey.novak",
        "IT Service Desk",
        "Service Desk Analyst",
        "push_sms",
        700,
    ),
    Persona(
        "helpdesk", "Riley", "Chen", "riley.chen", "IT Service Desk", "Service Desk Analyst", "fido2", 650
    ),
    Persona(
        "pra", "Taylor", "Brooks", "taylor.brooks", "IT Security", "Identity Governance Lead", "fido2", 1200
    ),
    Persona(
        "secadmin",
        "Quinn",
        "Harper",
        "quinn.harper",
        "IT Security",
        "Security Operations Manager",
        "whfb",
        1000,
    ),
    Persona(
        "tier0", "Drew", "Castillo", "drew.castillo", "IT Operations", "Platform Engineer", "push_sms", 800
    ),
    Persona(
        "au_aa",
        "Parker",
        "Wu",
        "parker.wu",
        "IT Service Desk",
        "Regional IT Coordinator",
        "push",
        600,
        country="DE",
    ),
    Persona(
        "useradmin",
        "Rowan",
        "Ellis",
        "rowan.ellis",
        "Human Resources",
        "HR Systems Administrator",
        "fido2",
        950,
    ),
    Persona(
        "kiosk_owner", "Lee", "Baptiste", "lee.baptiste", "Facilities", "Facilities Coordinator", "push", 820
    ),
    Persona("victim", "Elena", "Marsh", "elena.marsh", "Finance", "Financial Controller", "push_sms", 1300),
    Persona("joiner", "Noah", "Feld", "noah.feld", "Sales", "Account Executive", "none", 3.0),
    Persona("onboarded", "Mila", "Jansen", "mila.jansen", "Marketing", "Marketing Specialist", "push", 7.0),
    Persona(
        "kiosk1",
        None,
        None,
        "kiosk-lobby-01",
        "Facilities",
        "Shared kiosk",
        "none",
        1000,
        display_name="Kiosk Lobby 01",
    ),
    Persona(
        "kiosk2",
        None,
        None,
        "kiosk-warehouse-02",
        "Facilities",
        "Shared kiosk",
        "none",
        990,
        display_name="Kiosk Warehouse 02",
    ),
    Persona("guest", "Jamie", "Ortiz", "jamie.ortiz", None, None, "guest", 400, guest_of="fabrikam.example"),
)

# Roles held by the cast: (persona key, role constant name, kind). Kind: standing | eligible.
# Resolved against graphlattice.entra.roles in _directory.py.
_FORCED_POPULATION = (
    "none",
    "email",
    "sms",
    "voice",
    "sms_voice",
    "push",
    "push_sms",
    "push_oath",
    "passwordless",
    "fido2",
    "whfb",
)
FORCED_DISABLED = 2


@dataclass
class Roster:
    """Every user of the tenant, index-addressed; personas come first."""

    ids: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    upns: list[str] = field(default_factory=list)
    given: list[str | None] = field(default_factory=list)
    surname: list[str | None] = field(default_factory=list)
    dept: bytearray = field(default_factory=bytearray)
    title: list[str | None] = field(default_factory=list)
    profile: bytearray = field(default_factory=bytearray)
    flags: bytearray = field(default_factory=bytearray)
    country: bytearray = field(default_factory=bytearray)
    created: array[int] = field(default_factory=lambda: array("q"))
    persona: dict[str, int] = field(default_factory=dict)
    population_admins: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ids)

    def at(self, key: str) -> int:
        return self.persona[key]

    def id_of(self, key: str) -> str:
        return self.ids[self.persona[key]]

    def is_guest(self, i: int) -> bool:
        return bool(self.flags[i] & GUEST)

    def is_enabled(self, i: int) -> bool:
        return not self.flags[i] & DISABLED

    def is_admin(self, i: int) -> bool:
        return bool(self.flags[i] & ADMIN)

    def department(self, i: int) -> str | None:
        d = self.dept[i]
        return None if d == NO_DEPT else DEPARTMENTS[d]

    def mail(self, i: int) -> str:
        upn = self.upns[i]
        if "#EXT#" in upn:
            local = upn.split("#EXT#", 1)[0]
            name, _, domain = local.rpartition("_")
            return f"{name}@{domain}"
        return upn

    def ref(self, i: int) -> dict[str, str]:
        return {"@odata.type": "#microsoft.graph.user", "id": self.ids[i], "displayName": self.names[i]}

    def add(
        self,
        *,
        uid: str,
        name: str,
        upn: str,
        given: str | None,
        surname: str | None,
        dept: str | None,
        title: str | None,
        profile: str,
        flags: int,
        country: int,
        created: int,
    ) -> int:
        self.ids.append(uid)
        self.names.append(name)
        self.upns.append(upn)
        self.given.append(given)
        self.surname.append(surname)
        self.dept.append(NO_DEPT if dept is None else DEPT_INDEX[dept])
        self.title.append(title)
        self.profile.append(P[profile])
        self.flags.append(flags)
        self.country.append(country)
        self.created.append(created)
        return len(self.ids) - 1


def _slug(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def _weighted(gen: Gen, options: tuple[tuple[str, float], ...]) -> str:
    total = sum(w for _, w in options)
    x = gen.random() * total
    for name, weight in options:
        x -= weight
        if x < 0:
            return name
    return options[-1][0]


def build_roster(gen: Gen, users: int, persona_admin_keys: frozenset[str]) -> Roster:
    """Create the personas then the population; mark admins (roles themselves come later)."""
    roster = Roster()
    taken: dict[str, int] = {}
    country_codes = [c[0] for c in COUNTRIES]
    for p in PERSONAS:
        flags = ADMIN if p.key in persona_admin_keys else 0
        if p.guest_of:
            upn = f"{p.local}_{p.guest_of}#EXT#@{DOMAIN}"
            flags |= GUEST
        else:
            upn = f"{p.local}@{DOMAIN}"
        taken[p.local] = 1
        created = NOW_TS - int(p.created_days_ago * DAY)
        created = created - created % DAY + 7 * 3600 + gen.randint(0, 9 * 3600)  # office hours
        roster.persona[p.key] = roster.add(
            uid=gen.uuid(),
            name=p.name,
            upn=upn,
            given=p.given,
            surname=p.surname,
            dept=p.department,
            title=p.job_title,
            profile=p.profile,
            flags=flags,
            country=country_codes.index(p.country),
            created=created,
        )

    population = users - len(PERSONAS)
    admin_target = max(0, round(users * 0.005) - len(persona_admin_keys))
    admin_every = population // admin_target if admin_target else 0
    rng = gen.rng
    dept_choices = rng.choices(range(len(DEPARTMENTS)), weights=_DEPT_WEIGHTS, k=population)
    country_choices = rng.choices(range(len(COUNTRIES)), weights=_COUNTRY_WEIGHTS, k=population)
    forced = len(_FORCED_POPULATION)
    for n in range(population):
        given = GIVEN[rng.randrange(len(GIVEN))]
        surname = SURNAMES[rng.randrange(len(SURNAMES))]
        flags = 0
        if n == forced + FORCED_DISABLED or (n > forced + FORCED_DISABLED and rng.random() < 0.01):
            partner, _label = PARTNERS[rng.randrange(len(PARTNERS))]
            local = f"{_slug(given)}.{_slug(surname)}"
            seen = taken.get(local + "@" + partner, 0) + 1
            taken[local + "@" + partner] = seen
            if seen > 1:
                local = f"{local}{seen}"
            upn = f"{local}_{partner}#EXT#@{DOMAIN}"
            created = NOW_TS - rng.randrange(30 * DAY, 900 * DAY)
            roster.add(
                uid=gen.uuid(),
                name=f"{given} {surname}",
                upn=upn,
                given=given,
                surname=surname,
                dept=None,
                title=None,
                profile="guest",
                flags=GUEST,
                country=country_choices[n],
                created=created,
            )
            continue
        local = f"{_slug(given)}.{_slug(surname)}"
        seen = taken.get(local, 0) + 1
        taken[local] = seen
        if seen > 1:
            local = f"{local}{seen}"
        if n < forced:
            profile = _FORCED_POPULATION[n]
        elif (
            admin_every
            and n >= forced + FORCED_DISABLED + 1
            and n % admin_every == 0
            and len(roster.population_admins) < admin_target
        ):
            profile = _weighted(gen, _ADMIN_MIX)
            flags |= ADMIN
        else:
            profile = _weighted(gen, _MEMBER_MIX)
        if forced <= n < forced + FORCED_DISABLED or (not flags & ADMIN and rng.random() < 0.015):
            flags |= DISABLED
        if rng.random() < 0.8:
            flags |= SYNCED
        dept = DEPARTMENTS[dept_choices[n]]
        titles = TITLES[dept]
        title = titles[rng.randrange(len(titles))]
        created = NOW_TS - rng.randrange(30 * DAY, 6 * 365 * DAY)
        index = roster.add(
            uid=gen.uuid(),
            name=f"{given} {surname}",
            upn=f"{local}@{DOMAIN}",
            given=given,
            surname=surname,
            dept=dept,
            title=title,
            profile=profile,
            flags=flags,
            country=country_choices[n],
            created=created,
        )
        if flags & ADMIN:
            roster.population_admins.append(index)
    return roster
