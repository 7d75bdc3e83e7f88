"""Reference vocabularies for realistic-looking people, places, parts and CRM values."""

from __future__ import annotations

FIRST_NAMES = (
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard"
    " Susan Joseph Jessica Thomas Sarah Christopher Karen Charles Lisa Daniel Nancy Matthew Betty"
    " Anthony Sandra Mark Margaret Donald Ashley Steven Kimberly Andrew Emily Paul Donna Joshua"
    " Michelle Kenneth Carol Kevin Amanda Brian Melissa George Deborah Timothy Stephanie Ronald"
    " Rebecca Jason Sharon Edward Laura Jeffrey Cynthia Ryan Dorothy Jacob Amy Gary Kathleen"
    " Nicholas Angela Eric Shirley Jonathan Emma Stephen Brenda Larry Pamela Justin Nicole Scott"
    " Anna Brandon Samantha Benjamin Katherine Samuel Christine Gregory Debra Alexander Rachel"
    " Patrick Carolyn Frank Janet Raymond Maria Jack Olivia Dennis Heather Jerry Helen Tyler"
    " Catherine Aaron Diane Jose Julie Adam Victoria Nathan Joyce Henry Lauren Zachary Kelly"
    " Douglas Christina Peter Ruth Kyle Joan Noah Virginia Ethan Judith Jeremy Evelyn Walter"
    " Hannah Christian Andrea Keith Megan Roger Cheryl Terry Jacqueline Austin Madison Sean Teresa"
    " Gerald Abigail Carl Sophia Harold Martha Dylan Sara Arthur Gloria Lawrence Janice Jordan"
    " Kathryn Jesse Ann Bryan Isabella Billy Judy Bruce Charlotte Gabriel Julia Joe Grace Logan"
    " Amber Alan Alice Juan Jean Albert Denise Willie Frances Elijah Danielle Wayne Marilyn Randy"
    " Natalie Vincent Beverly Mason Diana Roy Brittany Ralph Theresa Bobby Kayla Russell Alexis"
    " Bradley Doris Philip Lori Eugene Tiffany"
).split()

LAST_NAMES = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez"
    " Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris"
    " Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill"
    " Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips"
    " Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers"
    " Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson"
    " Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo"
    " Sanders Patel Myers Long Ross Foster Jimenez Powell Jenkins Perry Russell Sullivan Bell"
    " Coleman Butler Henderson Barnes Gonzales Fisher Vasquez Simmons Romero Jordan Patterson"
    " Alexander Hamilton Graham Reynolds Griffin Wallace Moreno West Cole Hayes Bryant Herrera"
    " Gibson Ellis Tran Medina Aguilar Stevens Murray Ford Castro Marshall Owens Harrison Fernandez"
    " McDonald Woods Washington Kennedy Wells Vargas Henry Chen Freeman Webb Tucker Guzman Burns"
    " Crawford Olson Simpson Porter Hunter Gordon Mendez Silva Shaw Snyder Mason Dixon Munoz Hunt"
    " Hicks Holmes Palmer Wagner Black Robertson Boyd Rose Stone Salazar Fox Warren Mills Meyer"
).split()

STREET_NAMES = (
    "Oak Maple Cedar Pine Elm Washington Lake Hill Park Main Sunset Highland Forest Meadow River"
    " Jackson Lincoln Franklin Church Spring Ridge Willow Walnut Chestnut Mill Valley Prospect"
    " Madison Jefferson Cherry Locust Hickory Birch Dogwood Magnolia Aspen Sycamore Laurel"
).split()
STREET_SUFFIXES = ("St", "Ave", "Rd", "Blvd", "Ln", "Dr", "Ct", "Way", "Pl", "Ter")

CITIES: dict[str, tuple[str, ...]] = {
    "NY": ("New York", "Buffalo", "Rochester", "Albany", "Yonkers"),
    "MA": ("Boston", "Worcester", "Springfield", "Cambridge", "Lowell"),
    "CT": ("Hartford", "New Haven", "Stamford", "Bridgeport"),
    "NJ": ("Newark", "Jersey City", "Paterson", "Edison", "Trenton"),
    "GA": ("Atlanta", "Savannah", "Augusta", "Macon", "Athens"),
    "FL": ("Miami", "Orlando", "Tampa", "Jacksonville", "Tallahassee"),
    "NC": ("Charlotte", "Raleigh", "Durham", "Greensboro", "Wilmington"),
    "SC": ("Charleston", "Columbia", "Greenville", "Myrtle Beach"),
    "IL": ("Chicago", "Naperville", "Aurora", "Rockford", "Evanston"),
    "OH": ("Columbus", "Cleveland", "Cincinnati", "Toledo", "Dayton"),
    "MI": ("Detroit", "Grand Rapids", "Ann Arbor", "Lansing"),
    "WI": ("Milwaukee", "Madison", "Green Bay", "Kenosha"),
    "TX": ("Houston", "Dallas", "Austin", "San Antonio", "Fort Worth", "El Paso"),
    "OK": ("Oklahoma City", "Tulsa", "Norman"),
    "LA": ("New Orleans", "Baton Rouge", "Shreveport", "Lafayette"),
    "CO": ("Denver", "Colorado Springs", "Aurora", "Boulder", "Fort Collins"),
    "UT": ("Salt Lake City", "Provo", "Ogden", "St. George"),
    "ID": ("Boise", "Meridian", "Nampa", "Idaho Falls"),
    "AZ": ("Phoenix", "Tucson", "Mesa", "Scottsdale", "Chandler"),
    "NM": ("Albuquerque", "Santa Fe", "Las Cruces"),
    "NV": ("Las Vegas", "Reno", "Henderson"),
    "WA": ("Seattle", "Spokane", "Tacoma", "Bellevue", "Everett"),
    "OR": ("Portland", "Eugene", "Salem", "Bend"),
    "CA": ("Los Angeles", "San Diego", "San Jose", "San Francisco", "Sacramento", "Fresno"),
}

ZIP_PREFIX = {
    "NY": 100,
    "MA": 21,
    "CT": 61,
    "NJ": 70,
    "GA": 303,
    "FL": 331,
    "NC": 275,
    "SC": 294,
    "IL": 606,
    "OH": 432,
    "MI": 482,
    "WI": 532,
    "TX": 770,
    "OK": 731,
    "LA": 701,
    "CO": 802,
    "UT": 841,
    "ID": 837,
    "AZ": 850,
    "NM": 871,
    "NV": 891,
    "WA": 981,
    "OR": 972,
    "CA": 900,
}

AREA_CODES = {
    "NY": 212,
    "MA": 617,
    "CT": 860,
    "NJ": 201,
    "GA": 404,
    "FL": 305,
    "NC": 704,
    "SC": 843,
    "IL": 312,
    "OH": 614,
    "MI": 313,
    "WI": 414,
    "TX": 713,
    "OK": 405,
    "LA": 504,
    "CO": 303,
    "UT": 801,
    "ID": 208,
    "AZ": 602,
    "NM": 505,
    "NV": 702,
    "WA": 206,
    "OR": 503,
    "CA": 213,
}

EMAIL_DOMAINS = ("gmail.com", "yahoo.com", "outlook.com", "icloud.com", "hotmail.com", "aol.com")
COMPANY_SUFFIXES = (
    "Properties",
    "Dental Group",
    "Cafe",
    "Holdings LLC",
    "Realty",
    "Medical Center",
    "Bakery",
    "Auto Repair",
    "Law Office",
    "Apartments",
    "Fitness",
    "Hotel",
    "Learning Center",
    "Grocers",
)
INDUSTRIES = (
    "Real Estate",
    "Healthcare",
    "Hospitality",
    "Retail",
    "Education",
    "Professional Services",
)

PARTS: dict[str, tuple[tuple[str, int], ...]] = {
    # category -> (part name, typical unit price in cents)
    "HVAC": (
        ("Capacitor", 4_500),
        ("Contactor", 6_500),
        ("Air filter", 2_500),
        ("Refrigerant (lb)", 9_000),
        ("Blower motor", 42_000),
        ("Thermostat", 18_000),
        ("Igniter", 8_500),
    ),
    "Plumbing": (
        ("Wax ring", 1_200),
        ("Shutoff valve", 3_800),
        ("PEX fitting", 900),
        ("Flapper", 1_500),
        ("Pressure relief valve", 5_500),
        ("Drain snake rental", 6_000),
        ("Copper pipe (ft)", 700),
    ),
    "Electrical": (
        ("GFCI outlet", 2_800),
        ("Breaker 20A", 3_500),
        ("Wire 12/2 (ft)", 150),
        ("Light fixture", 12_000),
        ("Junction box", 900),
        ("Surge protector", 22_000),
    ),
    "Appliance Repair": (
        ("Door gasket", 7_500),
        ("Control board", 28_000),
        ("Drain pump", 11_000),
        ("Thermistor", 3_200),
        ("Belt", 2_400),
    ),
    "Pest Control": (
        ("Bait station", 1_800),
        ("Termiticide (gal)", 14_000),
        ("Traps (pack)", 2_200),
    ),
    "Maintenance": (("Air filter", 2_500), ("Coil cleaner", 1_900), ("Condensate tablet", 800)),
}

JOB_NOTES = (
    "Gate code at front desk",
    "Dog in backyard",
    "Call on arrival",
    "Customer prefers morning",
    "Park on street",
    "Second floor unit",
    "Warranty work",
    "Follow-up visit",
    "Bring ladder",
)

CONTACT_TITLES_COMMERCIAL = (
    "Facilities Manager",
    "Office Manager",
    "Owner",
    "Property Manager",
    "Operations Lead",
)
OPPORTUNITY_STAGES = (
    "Prospecting",
    "Qualification",
    "Proposal",
    "Negotiation",
    "Closed Won",
    "Closed Lost",
)
OPPORTUNITY_NAMES = (
    "Maintenance contract",
    "Equipment upgrade",
    "Service agreement",
    "Replacement quote",
)
CASE_SUBJECTS = (
    "Technician arrived late",
    "Billing question",
    "Follow-up needed",
    "Warranty claim",
    "Reschedule request",
    "Invoice copy requested",
    "Complaint about cleanup",
    "Compliment for technician",
)
CASE_STATUSES = ("New", "Working", "Escalated", "Closed")
CASE_ORIGINS = ("Phone", "Email", "Web")
CASE_PRIORITIES = ("Low", "Medium", "High")
PAYMENT_METHODS = ("CreditCard", "Check", "ACH", "Cash")
SHEET_OWNERS = (
    "Dana Whitfield",
    "Marcus Lee",
    "Priya Raman",
    "Tom Okafor",
    "Elena Ruiz",
    "Sam Carter",
)
