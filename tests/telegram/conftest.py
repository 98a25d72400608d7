import sys
from pathlib import Path

# the seeded database and the engine-side command consumer are shared with the API tests
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "api"))
