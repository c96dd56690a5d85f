"""Simulators of district departments' own systems, each speaking its department's native format.

``market_supervision``: 长清区市场监督管理局's case and licensing system (a REST API).
"""
