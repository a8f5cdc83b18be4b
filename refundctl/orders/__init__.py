"""Orders: the typed model, validation, and streaming readers."""

from refundctl.orders.model import FlightOrder, HotelOrder, Order
from refundctl.orders.reader import Record, iter_records, load_orders

__all__ = ["FlightOrder", "HotelOrder", "Order", "Record", "iter_records", "load_orders"]
