"""Errors at the edge: JSON for /api/*, an HTML page everywhere else."""

from __future__ import annotations

from flask import Flask, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

# What an operator reads when something goes wrong (the API sends the same words as JSON).
MESSAGES = {
    400: "リクエストの内容が正しくありません。",
    401: "ログインが必要です（API はトークンを Authorization: Bearer で送ってください）。",
    403: "この操作を行う権限がありません。",
    404: "お探しのページは見つかりませんでした。",
    405: "この操作には対応していません。",
    413: "送信された内容が大きすぎます。",
    414: "検索語が長すぎます。短くしてお試しください。",
    500: "サーバーでエラーが発生しました。時間をおいてもう一度お試しください。",
}
OTHER = "エラーが発生しました。"
# Our own 400 descriptions (bad paging and the like) are written for the operator.
INVALID_NUMBER = "{name} は {low}〜{high} の整数で指定してください。"


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http_error)


CSRF_FAILED = (
    "フォームの有効期限が切れたか、正しくない送信です。ページを再読み込みしてもう一度お試しください。"
)


def message_for(error: HTTPException) -> str:
    """Our description when we gave one, otherwise the plain message for the status."""
    if isinstance(error, CSRFError):
        return CSRF_FAILED
    if error.description and error.description != type(error).description:
        return error.description
    return MESSAGES.get(error.code or 500, OTHER)


def handle_http_error(error: HTTPException):
    code = error.code or 500
    message = message_for(error)
    if request.path.startswith("/api/"):
        return {"error": message}, code
    return render_template("error.html", code=code, message=message), code
