"""OCOP certificates: recognition decisions of a product, their validity and their chain."""
