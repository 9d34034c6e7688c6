"""Printed labels: QR codes of passports' Digital Link URIs, and A4 sheets of labels."""
