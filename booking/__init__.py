"""Booking requests: understanding and checking what people type (when, who, how to reach
them, which treatment) and the references they get. The conversation is in actions/booking.py."""
