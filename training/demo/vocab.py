"""The demo store's world: departments, category tree, brands, attribute words, complements.

Everything here is plain data, so the generator stays deterministic and a reader can see at a
glance what structure the models are expected to find (for example which leaf categories are
bought together).
"""

from __future__ import annotations

# department -> (brands, materials or main ingredients, uses colours, size words, subcategories)
# subcategory -> [(leaf category, singular noun used in titles and queries, median price)]
DEPARTMENTS: dict[str, dict] = {
    "Home": {
        "brands": ["Hearthly", "Nordvik", "CasaBella", "Loomwell", "Dwellio", "Homestead Co"],
        "materials": ["Cotton", "Linen", "Wool", "Velvet", "Oak", "Bamboo", "Glass", "Ceramic"],
        "colors": True,
        "sizes": ["Small", "Medium", "Large", "Queen", "King"],
        "subs": {
            "Bedding": [
                ("Duvet Covers", "duvet cover", 55.0),
                ("Pillows", "pillow", 25.0),
                ("Sheets", "sheet set", 45.0),
            ],
            "Decor": [
                ("Vases", "vase", 30.0),
                ("Candles", "candle", 15.0),
                ("Cushions", "cushion", 22.0),
                ("Picture Frames", "picture frame", 18.0),
            ],
            "Storage": [
                ("Baskets", "basket", 20.0),
                ("Shelves", "shelf", 60.0),
                ("Drawer Organizers", "drawer organizer", 16.0),
            ],
        },
    },
    "Kitchen": {
        "brands": ["Acme", "ChefLine", "Cuisina", "IronLeaf", "PanPro", "Kitcho"],
        "materials": ["Cast Iron", "Stainless Steel", "Ceramic", "Nonstick", "Silicone", "Copper", "Wooden"],
        "colors": True,
        "sizes": ["20 cm", "24 cm", "28 cm", "32 cm"],
        "subs": {
            "Cookware": [("Pans", "pan", 45.0), ("Pots", "pot", 60.0), ("Woks", "wok", 50.0)],
            "Utensils": [
                ("Spatulas", "spatula", 12.0),
                ("Ladles", "ladle", 10.0),
                ("Knives", "knife", 40.0),
                ("Cutting Boards", "cutting board", 25.0),
            ],
            "Small Appliances": [
                ("Kettles", "kettle", 40.0),
                ("Toasters", "toaster", 45.0),
                ("Blenders", "blender", 80.0),
                ("Coffee Makers", "coffee maker", 90.0),
            ],
            "Tableware": [("Mugs", "mug", 12.0), ("Plates", "plate set", 35.0)],
        },
    },
    "Beauty": {
        "brands": ["Lumina", "PureGlow", "Velvette", "Naturessa", "Dermacare", "Bloomly"],
        "materials": ["Argan Oil", "Coconut", "Aloe Vera", "Lavender", "Charcoal", "Vitamin C", "Rose"],
        "colors": False,
        "sizes": ["50 ml", "100 ml", "250 ml", "500 ml"],
        "subs": {
            "Hair Care": [
                ("Shampoo", "shampoo", 9.0),
                ("Conditioner", "conditioner", 9.0),
                ("Hair Masks", "hair mask", 15.0),
            ],
            "Skin Care": [
                ("Face Cream", "face cream", 25.0),
                ("Cleansers", "cleanser", 14.0),
                ("Serums", "serum", 30.0),
                ("Sunscreen", "sunscreen", 16.0),
            ],
            "Bath": [("Body Wash", "body wash", 8.0), ("Bath Bombs", "bath bomb", 6.0)],
        },
    },
    "Electronics": {
        "brands": ["Voltix", "Sonora", "Pixelon", "Techwave", "Zentro", "Orbix"],
        "materials": ["Aluminium", "Plastic", "Leather", "Silicone", "Glass"],
        "colors": True,
        "sizes": [],
        "subs": {
            "Phones": [
                ("Smartphones", "smartphone", 450.0),
                ("Phone Cases", "phone case", 18.0),
                ("Chargers", "charger", 22.0),
            ],
            "Computers": [
                ("Laptops", "laptop", 900.0),
                ("Laptop Bags", "laptop bag", 45.0),
                ("Mice", "mouse", 25.0),
                ("Keyboards", "keyboard", 55.0),
            ],
            "Audio": [("Headphones", "headphones", 120.0), ("Speakers", "speaker", 80.0)],
        },
    },
    "Sports": {
        "brands": ["Stridex", "Peakform", "Aerofit", "Trailborn", "Kinetix", "Summit"],
        "materials": ["Carbon", "Aluminium", "Nylon", "Rubber", "Polyester", "Neoprene"],
        "colors": True,
        "sizes": ["S", "M", "L", "XL"],
        "subs": {
            "Racket Sports": [
                ("Tennis Rackets", "tennis racket", 110.0),
                ("Tennis Balls", "tennis balls", 8.0),
            ],
            "Fitness": [
                ("Yoga Mats", "yoga mat", 30.0),
                ("Yoga Blocks", "yoga block", 12.0),
                ("Dumbbells", "dumbbell", 35.0),
                ("Water Bottles", "water bottle", 15.0),
            ],
            "Cycling": [
                ("Bikes", "bike", 650.0),
                ("Bike Helmets", "bike helmet", 60.0),
                ("Bike Lights", "bike light", 25.0),
            ],
        },
    },
    "Garden": {
        "brands": ["GreenThumb", "Verdant", "Bloomfield", "Yardly", "Sproutly", "Terrax"],
        "materials": ["Terracotta", "Plastic", "Steel", "Teak", "Rattan", "Stone"],
        "colors": True,
        "sizes": ["Small", "Medium", "Large"],
        "subs": {
            "Planting": [
                ("Plant Pots", "plant pot", 18.0),
                ("Potting Soil", "potting soil", 9.0),
                ("Seeds", "seed pack", 4.0),
            ],
            "Tools": [
                ("Pruners", "pruner", 22.0),
                ("Garden Gloves", "garden gloves", 12.0),
                ("Hoses", "garden hose", 35.0),
                ("Hose Nozzles", "hose nozzle", 10.0),
            ],
            "Outdoor Furniture": [("Garden Chairs", "garden chair", 70.0), ("Parasols", "parasol", 85.0)],
        },
    },
    "Toys": {
        "brands": ["Playnest", "Brickly", "Wonderkin", "Tinytown", "Jumpo", "Kidora"],
        "materials": ["Wooden", "Plastic", "Plush", "Metal", "Foam"],
        "colors": True,
        "sizes": ["Small", "Medium", "Large"],
        "subs": {
            "Building": [("Building Blocks", "building blocks", 35.0), ("Puzzles", "puzzle", 18.0)],
            "Dolls & Plush": [("Dolls", "doll", 25.0), ("Teddy Bears", "teddy bear", 20.0)],
            "Games": [("Board Games", "board game", 30.0), ("Card Games", "card game", 12.0)],
            "Remote Control": [("RC Cars", "rc car", 55.0), ("Toy Batteries", "toy batteries", 9.0)],
        },
    },
    "Grocery": {
        "brands": ["Farmhouse", "Goodgrain", "Sunpantry", "Oakvale", "Freshly", "Nutrio"],
        "materials": ["Organic", "Vanilla", "Dark Chocolate", "Hazelnut", "Honey", "Sea Salt", "Whole Grain"],
        "colors": False,
        "sizes": ["250 g", "500 g", "1 kg"],
        "subs": {
            "Breakfast": [
                ("Coffee", "coffee", 9.0),
                ("Coffee Filters", "coffee filters", 4.0),
                ("Cereal", "cereal", 5.0),
                ("Tea", "tea", 5.0),
            ],
            "Pantry": [
                ("Pasta", "pasta", 3.0),
                ("Pasta Sauce", "pasta sauce", 4.0),
                ("Olive Oil", "olive oil", 10.0),
            ],
            "Snacks": [("Chocolate", "chocolate bar", 3.0), ("Crisps", "crisps", 2.5), ("Nuts", "nuts", 6.0)],
        },
    },
}

# Leaf categories bought together (both directions): co-purchase has real signal to learn.
COMPLEMENTS: list[tuple[str, str]] = [
    ("Pans", "Spatulas"),
    ("Pots", "Ladles"),
    ("Knives", "Cutting Boards"),
    ("Coffee Makers", "Coffee"),
    ("Coffee", "Coffee Filters"),
    ("Mugs", "Tea"),
    ("Shampoo", "Conditioner"),
    ("Face Cream", "Serums"),
    ("Smartphones", "Phone Cases"),
    ("Laptops", "Laptop Bags"),
    ("Mice", "Keyboards"),
    ("Tennis Rackets", "Tennis Balls"),
    ("Yoga Mats", "Yoga Blocks"),
    ("Bikes", "Bike Helmets"),
    ("Plant Pots", "Potting Soil"),
    ("Hoses", "Hose Nozzles"),
    ("RC Cars", "Toy Batteries"),
    ("Pasta", "Pasta Sauce"),
    ("Duvet Covers", "Pillows"),
]

COLORS = [
    "Black",
    "White",
    "Red",
    "Blue",
    "Green",
    "Grey",
    "Navy",
    "Pink",
    "Yellow",
    "Beige",
    "Teal",
    "Orange",
]
ADJECTIVES = [
    "Classic",
    "Premium",
    "Compact",
    "Everyday",
    "Deluxe",
    "Essential",
    "Modern",
    "Vintage",
    "Eco",
    "Pro",
    "Lightweight",
    "Heavy Duty",
]
FEATURES = [
    "Built to last and easy to clean.",
    "A customer favourite for everyday use.",
    "Designed for comfort and durability.",
    "Thoughtfully made with sustainable materials.",
    "Great value with a two year warranty.",
    "Perfect as a gift.",
    "Trusted by professionals.",
    "Compact design that saves space.",
]

# Yearly demand peak (day of year) and amplitude per department: Garden in spring, Toys at Christmas.
SEASONALITY: dict[str, tuple[int, float]] = {
    "Home": (330, 0.15),
    "Kitchen": (340, 0.2),
    "Beauty": (160, 0.1),
    "Electronics": (330, 0.3),
    "Sports": (170, 0.3),
    "Garden": (130, 0.55),
    "Toys": (355, 0.6),
    "Grocery": (10, 0.05),
}

# Fraud world: country mix of customers and the countries card fraud is routed through.
COUNTRIES = ["US", "GB", "DE", "FR", "NL", "ES", "IT", "CA", "SE", "PL"]
COUNTRY_WEIGHTS = [0.34, 0.14, 0.12, 0.1, 0.06, 0.06, 0.06, 0.05, 0.04, 0.03]
RISKY_COUNTRIES = ["RU", "NG", "BR", "VN", "ID", "UA"]
# merchant category -> log-amount offset relative to the customer's usual spend
MERCHANT_CATEGORIES: dict[str, float] = {
    "grocery": -0.3,
    "restaurants": -0.5,
    "coffee_shops": -2.0,
    "fashion": 0.3,
    "electronics": 1.0,
    "travel": 1.3,
    "digital_goods": -1.2,
    "fuel": -0.2,
    "home_improvement": 0.5,
    "pharmacy": -0.8,
}
CHANNELS = ["web", "app", "pos"]
