"""A small order pipeline to profile: `make run` records it with pyprof.

Orders arrive as CSV lines. The main thread parses them, a pool of worker
threads prices them (with discounts and taxes), every priced order gets a
checksum, and the batch is encoded as JSON. About 2-4 seconds of CPU in
all, spread over classes, nested functions, a lambda and two threads, so
that `pyprof top` has something to say.

Run it alone with: python examples/shop.py [ORDERS]
"""

import hashlib
import json
import queue
import random
import sys
import threading
import time
from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import field
from typing import Dict
from typing import List

CATALOGUE = {
    f"SKU-{n:04d}": round(1.5 + (n * 37 % 200) / 7.0, 2) for n in range(1, 400)
}
WORKERS = 2


@dataclass
class Line:
    sku: str
    quantity: int
    unit_price: float = 0.0


@dataclass
class Order:
    order_id: int
    customer: str
    country: str
    lines: List[Line] = field(default_factory=list)
    total: float = 0.0
    checksum: str = ""


def make_orders(count: int, seed: int = 7) -> List[str]:
    """Fake input: one CSV line per order, items as sku:quantity pairs."""
    rng = random.Random(seed)
    skus = list(CATALOGUE)
    countries = ["DE", "FR", "NL", "SE", "US"]
    rows = []
    for order_id in range(count):
        items = ";".join(
            f"{rng.choice(skus)}:{rng.randint(1, 9)}" for _ in range(rng.randint(3, 25))
        )
        customer = f"customer-{rng.randint(1, 999)}"
        rows.append(f"{order_id},{customer},{rng.choice(countries)},{items}")
    return rows


class OrderParser:
    """Turns CSV lines into Order objects, checking every field."""

    def parse(self, row: str) -> Order:
        order_id, customer, country, items = row.split(",", 3)
        order = Order(int(order_id), customer.strip(), country)
        order.lines = [self.parse_line(item) for item in items.split(";")]
        return order

    def parse_line(self, item: str) -> Line:
        sku, quantity = item.split(":")
        if sku not in CATALOGUE:
            raise ValueError(f"unknown sku {sku}")
        return Line(sku, int(quantity))


class Pricer:
    """Prices an order: list prices, volume discounts, then tax by country."""

    TAX = {"DE": 0.19, "FR": 0.20, "NL": 0.21, "SE": 0.25, "US": 0.07}

    def price(self, order: Order) -> Order:
        def discounted(line: Line) -> float:
            base = CATALOGUE[line.sku] * line.quantity
            return base * self.discount(line.quantity)

        for line in order.lines:
            line.unit_price = CATALOGUE[line.sku]
        subtotal = sum(map(discounted, order.lines))
        order.total = round(self.with_tax(subtotal, order.country), 2)
        return order

    def discount(self, quantity: int) -> float:
        # A deliberately slow tiered rule, as real pricing code often is.
        rate = 1.0
        for tier in range(1, quantity * 40):
            if tier % 97 == 0:
                rate *= 0.999
        return rate

    def with_tax(self, amount: float, country: str) -> float:
        return amount * (1 + self.TAX.get(country, 0.0))


def checksum(order: Order) -> str:
    """A stable digest of an order, stretched to cost some CPU."""
    text = f"{order.order_id}|{order.customer}|{order.total:.2f}"
    digest = text.encode()
    for _ in range(200):
        digest = hashlib.sha256(digest).digest()
    mixed = 0
    for byte in digest * 40:
        mixed = (mixed * 31 + byte) & 0xFFFFFFFF
    return f"{mixed:08x}"


def encode(orders: List[Order]) -> str:
    """The batch as JSON, sorted by total, largest first."""
    ranked = sorted(orders, key=lambda order: (-order.total, order.order_id))
    return json.dumps([asdict(order) for order in ranked], sort_keys=True)


def price_in_workers(orders: List[Order]) -> List[Order]:
    """Price orders on a few worker threads; returns them in input order."""
    todo: "queue.Queue[Order]" = queue.Queue()
    done: Dict[int, Order] = {}
    lock = threading.Lock()

    def worker() -> None:
        pricer = Pricer()
        while True:
            try:
                order = todo.get_nowait()
            except queue.Empty:
                return
            priced = pricer.price(order)
            priced.checksum = checksum(priced)
            with lock:
                done[priced.order_id] = priced

    for order in orders:
        todo.put(order)
    threads = [
        threading.Thread(target=worker, name=f"pricer-{n}") for n in range(WORKERS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [done[order.order_id] for order in orders]


def main(count: int) -> None:
    started = time.perf_counter()
    rows = make_orders(count)
    parser = OrderParser()
    orders = [parser.parse(row) for row in rows]
    priced = price_in_workers(orders)
    document = encode(priced)
    revenue = sum(order.total for order in priced)
    print(
        f"shop: {len(priced)} orders, revenue {revenue:,.2f}, "
        f"{len(document) // 1024} KiB of JSON in {time.perf_counter() - started:.2f}s"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 9000)
