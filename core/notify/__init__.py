"""Notifications: which notices are due (``due``), and sending them by e-mail (``email``) or webhook
(``webhook``). ``config`` holds the settings models; ``message`` what a run sends; ``deliver`` runs the
channels. Importing this package loads neither smtplib nor httpx: only a sending run does.
"""
