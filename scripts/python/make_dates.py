"""N random dates in the seq2seq demo model's six source formats, one per line (the Spark benchmark's input).

Usage: python3 make_dates.py N [SEED] > dates.txt   (years 1950..2049, as the model was trained on)
"""
import calendar
import random
import sys

MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]


def date(rng):
    y = rng.randint(1950, 2049)
    m = rng.randint(1, 12)
    d = rng.randint(1, calendar.monthrange(y, m)[1])
    name = MONTHS[m - 1]
    return rng.choice([f"{d} {name} {y}", f"{d:02d}/{m:02d}/{y}", f"{name} {d}, {y}", f"{d} {name[:3]} {y}",
                       f"{name[:3]} {d}, {y}", f"{d}.{m}.{y}"])


def main():
    n = int(sys.argv[1])
    rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
    sys.stdout.write("".join(date(rng) + "\n" for _ in range(n)))


if __name__ == "__main__":
    main()
