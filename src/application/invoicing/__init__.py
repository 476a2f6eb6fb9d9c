"""Invoicing from a deal, one use case per module.

No vendor call happens inside an open transaction: a use case reads in one unit of work, talks
to QuickBooks, writes the outcome in another, and answers with the view the read side holds.
"""
