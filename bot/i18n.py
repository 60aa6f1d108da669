"""The one translation mechanism: every user-facing string, in zh-Hans, zh-Hant and English.

``t(lang, key, **values)`` formats a message; values that come from users must already be
HTML-escaped. The zh-Hant texts were converted from zh-Hans with OpenCC (s2tw) and reviewed.
"""

from __future__ import annotations

from typing import Any

from bot.config import LANGUAGES, Language

DEFAULT_LANGUAGE: Language = "zh-Hans"

MESSAGES: dict[str, dict[Language, str]] = {
    "lang.name": {
        "zh-Hans": "简体中文",
        "zh-Hant": "繁體中文",
        "en": "English",
    },
    "start.greeting": {
        "zh-Hans": "您好，{name}！这里是「{campaign}」金点子征集台。\n\n有好的建议，或发现需要解决的问题，直接发给我就行：可以写文字，也可以附上照片、语音、文件或位置。每条都会有编号，办理情况随时可查。可以实名，也可以匿名。",
        "zh-Hant": "您好，{name}！這裡是「{campaign}」金點子徵集臺。\n\n有好的建議，或發現需要解決的問題，直接發給我就行：可以寫文字，也可以附上照片、語音、文件或位置。每條都會有編號，辦理情況隨時可查。可以實名，也可以匿名。",
        "en": "Hello, {name}! This is the suggestion desk of “{campaign}”.\n\nSend me a suggestion or report a problem: text, plus photos, voice notes, documents or a location if you like. Every item gets a reference number and you can follow what happens to it. You may sign it or stay anonymous.",
    },
    "menu.suggest": {
        "zh-Hans": "💡 提建议",
        "zh-Hant": "💡 提建議",
        "en": "💡 Make a suggestion",
    },
    "menu.report": {
        "zh-Hans": "📣 反映问题",
        "zh-Hant": "📣 反映問題",
        "en": "📣 Report a problem",
    },
    "menu.my": {
        "zh-Hans": "📋 我的提交",
        "zh-Hant": "📋 我的提交",
        "en": "📋 My submissions",
    },
    "menu.help": {
        "zh-Hans": "❓ 帮助",
        "zh-Hant": "❓ 幫助",
        "en": "❓ Help",
    },
    "help.text": {
        "zh-Hans": "<b>怎么用</b>\n• 直接发文字，或点「提建议」「反映问题」开始；也可以一行写完：/suggest 内容 或 /report 内容\n• 可以分几条发送，也可以附照片、语音、文件、位置，说完点「下一步」\n• 确认类别，选择实名或匿名，核对后提交，就会收到编号（如 #42）\n\n<b>命令</b>\n/suggest 提建议\n/report 反映问题\n/my 我的提交\n/status 编号 查看办理情况，如 /status 42\n/cancel 放弃正在填写的内容\n/lang 切换语言\n/privacy 隐私与匿名说明\n/help 本说明",
        "zh-Hant": "<b>怎麼用</b>\n• 直接發文字，或點「提建議」「反映問題」開始；也可以一行寫完：/suggest 內容 或 /report 內容\n• 可以分幾條發送，也可以附照片、語音、文件、位置，說完點「下一步」\n• 確認類別，選擇實名或匿名，核對後提交，就會收到編號（如 #42）\n\n<b>命令</b>\n/suggest 提建議\n/report 反映問題\n/my 我的提交\n/status 編號 查看辦理情況，如 /status 42\n/cancel 放棄正在填寫的內容\n/lang 切換語言\n/privacy 隱私與匿名說明\n/help 本說明",
        "en": "<b>How it works</b>\n• Just send text, or tap “Make a suggestion” / “Report a problem”; or in one line: /suggest text or /report text\n• Send several messages if you like, with photos, voice notes, documents or a location, then tap “Next”\n• Confirm the topic, choose named or anonymous, check and submit: you get a reference number (e.g. #42)\n\n<b>Commands</b>\n/suggest make a suggestion\n/report report a problem\n/my my submissions\n/status number: follow one, e.g. /status 42\n/cancel discard what you are writing\n/lang change language\n/privacy privacy and anonymity\n/help this text",
    },
    "privacy.text": {
        "zh-Hans": "<b>我们保存什么</b>\n• 您提交的内容、类别、附件（以 Telegram 文件编号保存）、位置和办理记录。\n• 实名提交：保存您的 Telegram 编号、名字和用户名，答复公开时可以署名致谢。\n\n<b>匿名意味着什么</b>\n• 匿名提交不保存您的 Telegram 编号、名字或用户名，日志里也没有。\n• 为了让您在 /my 里看到它、收到答复，我们只保存一个用密钥计算的代号，以及加密后的对话地址。\n• 没有密钥，仅凭数据库无法知道是谁提交的；管理员看到的只有「匿名」。\n• 转交领导小组时以复制方式发送，不会带出您的身份。\n• 语言设置和未提交的草稿同样只按代号保存，删除的数据会被覆盖清除。",
        "zh-Hant": "<b>我們保存什麼</b>\n• 您提交的內容、類別、附件（以 Telegram 文件編號保存）、位置和辦理記錄。\n• 實名提交：保存您的 Telegram 編號、名字和用戶名，答覆公開時可以署名致謝。\n\n<b>匿名意味著什麼</b>\n• 匿名提交不保存您的 Telegram 編號、名字或用戶名，日誌裡也沒有。\n• 為了讓您在 /my 裡看到它、收到答覆，我們只保存一個用密鑰計算的代號，以及加密後的對話地址。\n• 沒有密鑰，僅憑數據庫無法知道是誰提交的；管理員看到的只有「匿名」。\n• 轉交領導小組時以複製方式發送，不會帶出您的身份。\n• 語言設置和未提交的草稿同樣只按代號保存，刪除的數據會被覆蓋清除。",
        "en": "<b>What we store</b>\n• What you submit: text, topic, attachments (as Telegram file ids), location and the handling history.\n• Named submissions: your Telegram id, name and username, so you can be thanked by name when a response is published.\n\n<b>What anonymous means</b>\n• Anonymous submissions store no Telegram id, name or username, and nothing about you is logged.\n• So that you can see it in /my and get the answer, we keep only a pseudonym computed with a secret key and your chat address encrypted.\n• Without the keys, the database alone cannot tell who sent it; administrators only see “anonymous”.\n• Items passed to the leading group are copied, never forwarded, so your identity does not travel with them.\n• Your language choice and unfinished drafts are also kept only under the pseudonym; deleted data is overwritten.",
    },
    "lang.ask": {
        "zh-Hans": "请选择语言：",
        "zh-Hant": "請選擇語言：",
        "en": "Choose your language:",
    },
    "lang.set": {
        "zh-Hans": "已切换为简体中文。",
        "zh-Hant": "已切換為繁體中文。",
        "en": "Language set to English.",
    },
    "kind.ask": {
        "zh-Hans": "收到。这是一条建议，还是要反映问题？",
        "zh-Hant": "收到。這是一條建議，還是要反映問題？",
        "en": "Got it. Is this a suggestion or a problem report?",
    },
    "kind.suggestion": {
        "zh-Hans": "建议",
        "zh-Hant": "建議",
        "en": "Suggestion",
    },
    "kind.problem": {
        "zh-Hans": "问题反映",
        "zh-Hant": "問題反映",
        "en": "Problem report",
    },
    "compose.ask.suggestion": {
        "zh-Hans": "请写下您的建议。可以分几条发送，也可以附上照片、语音、文件或位置。",
        "zh-Hant": "請寫下您的建議。可以分幾條發送，也可以附上照片、語音、文件或位置。",
        "en": "Please write your suggestion. You can send several messages and add photos, voice notes, documents or a location.",
    },
    "compose.ask.problem": {
        "zh-Hans": "请说明您要反映的问题：在哪里、什么情况。可以分几条发送，也可以附上照片、语音、文件或位置。",
        "zh-Hant": "請說明您要反映的問題：在哪裡、什麼情況。可以分幾條發送，也可以附上照片、語音、文件或位置。",
        "en": "Please describe the problem: where it is and what is wrong. You can send several messages and add photos, voice notes, documents or a location.",
    },
    "compose.received": {
        "zh-Hans": "已记下（文字 {chars} 字，附件 {attachments} 个）。还可以继续补充；说完了请点「下一步」。",
        "zh-Hant": "已記下（文字 {chars} 字，附件 {attachments} 個）。還可以繼續補充；說完了請點「下一步」。",
        "en": "Noted ({chars} characters of text, {attachments} attachment(s)). You can add more; when you are done, tap “Next”.",
    },
    "compose.empty": {
        "zh-Hans": "还没有内容。请先写几句话，或发一张照片、一段语音。",
        "zh-Hant": "還沒有內容。請先寫幾句話，或發一張照片、一段語音。",
        "en": "There is nothing yet. Please write a few words, or send a photo or a voice note.",
    },
    "compose.too_short": {
        "zh-Hans": "内容太短了，请至少写 {min_chars} 个字，说清楚是什么事。",
        "zh-Hant": "內容太短了，請至少寫 {min_chars} 個字，說清楚是什麼事。",
        "en": "That is too short: please write at least {min_chars} characters so we know what it is about.",
    },
    "button.next": {
        "zh-Hans": "下一步 ▶",
        "zh-Hant": "下一步 ▶",
        "en": "Next ▶",
    },
    "button.cancel": {
        "zh-Hans": "✖ 取消",
        "zh-Hant": "✖ 取消",
        "en": "✖ Cancel",
    },
    "button.confirm": {
        "zh-Hans": "✅ 确认提交",
        "zh-Hant": "✅ 確認提交",
        "en": "✅ Submit",
    },
    "button.prev": {
        "zh-Hans": "◀ 上一页",
        "zh-Hant": "◀ 上一頁",
        "en": "◀ Previous",
    },
    "button.more": {
        "zh-Hans": "下一页 ▶",
        "zh-Hant": "下一頁 ▶",
        "en": "Next page ▶",
    },
    "topic.proposal": {
        "zh-Hans": "建议归入类别：<b>{topic}</b>\n依据关键词：{keywords}\n如不合适，请选择其他类别。",
        "zh-Hant": "建議歸入類別：<b>{topic}</b>\n依據關鍵詞：{keywords}\n如不合適，請選擇其他類別。",
        "en": "Suggested topic: <b>{topic}</b>\nMatched keywords: {keywords}\nIf it does not fit, choose another topic.",
    },
    "topic.proposal.model": {
        "zh-Hans": "建议归入类别：<b>{topic}</b>（由学习模型根据以往分类推荐，把握 {percent}%）\n主要依据：{ngrams}\n如不合适，请选择其他类别。",
        "zh-Hant": "建議歸入類別：<b>{topic}</b>（由學習模型根據以往分類推薦，把握 {percent}%）\n主要依據：{ngrams}\n如不合適，請選擇其他類別。",
        "en": "Suggested topic: <b>{topic}</b> (suggested by the learning model from earlier classifications, {percent}% confident)\nWeighed most: {ngrams}\nIf it does not fit, choose another topic.",
    },
    "topic.proposal.fallback": {
        "zh-Hans": "没能自动判断类别，暂归入：<b>{topic}</b>\n您可以选择更合适的类别。",
        "zh-Hant": "沒能自動判斷類別，暫歸入：<b>{topic}</b>\n您可以選擇更合適的類別。",
        "en": "We could not tell the topic automatically, so it is filed under: <b>{topic}</b>\nYou can choose a better one.",
    },
    "topic.accept": {
        "zh-Hans": "✅ 就是这个类别",
        "zh-Hant": "✅ 就是這個類別",
        "en": "✅ This topic is right",
    },
    "topic.other": {
        "zh-Hans": "选择其他类别",
        "zh-Hant": "選擇其他類別",
        "en": "Choose another topic",
    },
    "identity.ask": {
        "zh-Hans": "类别：{topic}\n\n请选择提交方式：\n• <b>实名</b>：办理人员知道是您，答复公开时可署名致谢。\n• <b>匿名</b>：不保存您的身份，仍可查看进度、收到答复。",
        "zh-Hant": "類別：{topic}\n\n請選擇提交方式：\n• <b>實名</b>：辦理人員知道是您，答覆公開時可署名致謝。\n• <b>匿名</b>：不保存您的身份，仍可查看進度、收到答覆。",
        "en": "Topic: {topic}\n\nHow do you want to submit?\n• <b>Named</b>: the office knows it is you and may thank you by name when the answer is published.\n• <b>Anonymous</b>: your identity is not stored; you can still follow it and receive the answer.",
    },
    "identity.named": {
        "zh-Hans": "🙋 实名提交",
        "zh-Hant": "🙋 實名提交",
        "en": "🙋 Named",
    },
    "identity.anonymous": {
        "zh-Hans": "🕶 匿名提交",
        "zh-Hant": "🕶 匿名提交",
        "en": "🕶 Anonymous",
    },
    "summary.title": {
        "zh-Hans": "<b>请核对后提交</b>",
        "zh-Hant": "<b>請核對後提交</b>",
        "en": "<b>Please check before submitting</b>",
    },
    "summary.anonymous": {
        "zh-Hans": "匿名",
        "zh-Hant": "匿名",
        "en": "anonymous",
    },
    "summary.named": {
        "zh-Hans": "实名（{name}）",
        "zh-Hant": "實名（{name}）",
        "en": "named ({name})",
    },
    "summary.confirm_hint": {
        "zh-Hans": "确认无误请点「确认提交」；还想补充，直接发送即可。",
        "zh-Hant": "確認無誤請點「確認提交」；還想補充，直接發送即可。",
        "en": "Tap “Submit” if all is right; to add something, just send it.",
    },
    "field.kind": {
        "zh-Hans": "类型：{value}",
        "zh-Hant": "類型：{value}",
        "en": "Kind: {value}",
    },
    "field.topic": {
        "zh-Hans": "类别：{value}",
        "zh-Hant": "類別：{value}",
        "en": "Topic: {value}",
    },
    "field.identity": {
        "zh-Hans": "署名：{value}",
        "zh-Hant": "署名：{value}",
        "en": "Sender: {value}",
    },
    "field.status": {
        "zh-Hans": "状态：{value}",
        "zh-Hant": "狀態：{value}",
        "en": "Status: {value}",
    },
    "field.date": {
        "zh-Hans": "提交时间：{value}",
        "zh-Hant": "提交時間：{value}",
        "en": "Submitted: {value}",
    },
    "field.attachments": {
        "zh-Hans": "附件：{value}",
        "zh-Hant": "附件：{value}",
        "en": "Attachments: {value}",
    },
    "attachment.photo": {
        "zh-Hans": "照片 {n}",
        "zh-Hant": "照片 {n}",
        "en": "{n} photo(s)",
    },
    "attachment.document": {
        "zh-Hans": "文件 {n}",
        "zh-Hant": "文件 {n}",
        "en": "{n} document(s)",
    },
    "attachment.voice": {
        "zh-Hans": "语音 {n}",
        "zh-Hant": "語音 {n}",
        "en": "{n} voice note(s)",
    },
    "attachment.audio": {
        "zh-Hans": "音频 {n}",
        "zh-Hant": "音頻 {n}",
        "en": "{n} audio file(s)",
    },
    "attachment.video": {
        "zh-Hans": "视频 {n}",
        "zh-Hant": "視頻 {n}",
        "en": "{n} video(s)",
    },
    "attachment.video_note": {
        "zh-Hans": "视频消息 {n}",
        "zh-Hant": "視頻消息 {n}",
        "en": "{n} video message(s)",
    },
    "attachment.location": {
        "zh-Hans": "位置 {n}",
        "zh-Hant": "位置 {n}",
        "en": "{n} location(s)",
    },
    "ack.named": {
        "zh-Hans": "✅ 已收到，谢谢您！编号 <b>{ref}</b>。\n我们会尽快处理，有进展会通知您。随时可用 /status {num} 或 /my 查看。",
        "zh-Hant": "✅ 已收到，謝謝您！編號 <b>{ref}</b>。\n我們會盡快處理，有進展會通知您。隨時可用 /status {num} 或 /my 查看。",
        "en": "✅ Received, thank you! Reference <b>{ref}</b>.\nWe will handle it soon and let you know. Follow it any time with /status {num} or /my.",
    },
    "ack.anonymous": {
        "zh-Hans": "✅ 已匿名收到，谢谢您！编号 <b>{ref}</b>。\n您的身份没有被保存。有进展会通知您，也可用 /status {num} 或 /my 查看。",
        "zh-Hant": "✅ 已匿名收到，謝謝您！編號 <b>{ref}</b>。\n您的身份沒有被保存。有進展會通知您，也可用 /status {num} 或 /my 查看。",
        "en": "✅ Received anonymously, thank you! Reference <b>{ref}</b>.\nYour identity was not stored. We will let you know of progress; follow it with /status {num} or /my.",
    },
    "draft.gone": {
        "zh-Hans": "这份草稿已经提交或取消了。要再提交，请发送 /suggest 或 /report。",
        "zh-Hant": "這份草稿已經提交或取消了。要再提交，請發送 /suggest 或 /report。",
        "en": "That draft was already submitted or cancelled. To send another, use /suggest or /report.",
    },
    "flow.resume": {
        "zh-Hans": "这个按钮已过期：您的草稿还差前面一步，请按下面的提示继续，已写的内容都还在。",
        "zh-Hant": "這個按鈕已過期：您的草稿還差前面一步，請按下面的提示繼續，已寫的內容都還在。",
        "en": "That button is out of date: your draft still needs an earlier step. Please continue below; nothing you wrote is lost.",
    },
    "cancel.done": {
        "zh-Hans": "已取消，草稿已删除。有需要随时再来。",
        "zh-Hant": "已取消，草稿已刪除。有需要隨時再來。",
        "en": "Cancelled; the draft was deleted. Come back any time.",
    },
    "cancel.nothing": {
        "zh-Hans": "现在没有正在填写的内容。",
        "zh-Hant": "現在沒有正在填寫的內容。",
        "en": "There is nothing in progress to cancel.",
    },
    "input.unsupported": {
        "zh-Hans": "抱歉，这种消息（如贴纸、投票、名片）无法作为提交内容。请发送文字、照片、语音、文件或位置。",
        "zh-Hant": "抱歉，這種消息（如貼紙、投票、名片）無法作為提交內容。請發送文字、照片、語音、文件或位置。",
        "en": "Sorry, this kind of message (such as a sticker, poll or contact) cannot be part of a submission. Please send text, a photo, a voice note, a document or a location.",
    },
    "input.empty": {
        "zh-Hans": "这条消息是空的，没有记下。请写几句话。",
        "zh-Hant": "這條消息是空的，沒有記下。請寫幾句話。",
        "en": "That message was empty, so nothing was added. Please write a few words.",
    },
    "input.too_long": {
        "zh-Hans": "这条消息没有记下：加上它（{chars} 字）会超过每条提交 {limit} 字的上限（已有 {have} 字）。请精简一下，或者分成另一条提交。",
        "zh-Hant": "這條消息沒有記下：加上它（{chars} 字）會超過每條提交 {limit} 字的上限（已有 {have} 字）。請精簡一下，或者分成另一條提交。",
        "en": "That message was not added: with it ({chars} characters) the submission would exceed its limit of {limit} characters (it has {have}). Please shorten it or send it as a separate submission.",
    },
    "input.too_many_parts": {
        "zh-Hans": "这份提交已经有 {limit} 条消息了，不能再加。请点「下一步」提交，其余内容可以另起一条。",
        "zh-Hant": "這份提交已經有 {limit} 條消息了，不能再加。請點「下一步」提交，其餘內容可以另起一條。",
        "en": "This submission already has {limit} messages. Please tap “Next” to submit it and send the rest as a new one.",
    },
    "input.too_many_attachments": {
        "zh-Hans": "每条提交最多 {limit} 个附件，这个没有加上。请先提交，其余附件可以另起一条。",
        "zh-Hant": "每條提交最多 {limit} 個附件，這個沒有加上。請先提交，其餘附件可以另起一條。",
        "en": "A submission can have at most {limit} attachments; this one was not added. Please submit and send the rest as a new one.",
    },
    "button.stale": {
        "zh-Hans": "这个按钮已经失效了，请按最新的消息操作，或发送 /start 重新开始。",
        "zh-Hant": "這個按鈕已經失效了，請按最新的消息操作，或發送 /start 重新開始。",
        "en": "This button has expired. Please use the latest message, or send /start.",
    },
    "my.empty": {
        "zh-Hans": "您还没有提交过。发送 /suggest 提建议，或 /report 反映问题。",
        "zh-Hant": "您還沒有提交過。發送 /suggest 提建議，或 /report 反映問題。",
        "en": "You have not submitted anything yet. Send /suggest or /report to start.",
    },
    "my.title": {
        "zh-Hans": "<b>我的提交</b>（第 {first}–{last} 条，共 {total} 条）",
        "zh-Hant": "<b>我的提交</b>（第 {first}–{last} 條，共 {total} 條）",
        "en": "<b>My submissions</b> ({first}–{last} of {total})",
    },
    "my.line": {
        "zh-Hans": "{ref} · {kind} · {topic} · {status} · {date}",
        "zh-Hant": "{ref} · {kind} · {topic} · {status} · {date}",
        "en": "{ref} · {kind} · {topic} · {status} · {date}",
    },
    "my.hint": {
        "zh-Hans": "查看详情：/status 编号，例如 /status 42",
        "zh-Hant": "查看詳情：/status 編號，例如 /status 42",
        "en": "Details: /status number, e.g. /status 42",
    },
    "detail.title": {
        "zh-Hans": "<b>{ref}</b>",
        "zh-Hant": "<b>{ref}</b>",
        "en": "<b>{ref}</b>",
    },
    "detail.history": {
        "zh-Hans": "<b>办理记录</b>",
        "zh-Hant": "<b>辦理記錄</b>",
        "en": "<b>History</b>",
    },
    "status.usage": {
        "zh-Hans": "请在命令后写编号，例如：/status 42",
        "zh-Hant": "請在命令後寫編號，例如：/status 42",
        "en": "Please add the reference number, e.g. /status 42",
    },
    "status.not_found": {
        "zh-Hans": "没有找到编号为 {ref} 的提交，或者它不是您提交的。请用 /my 查看您的提交。",
        "zh-Hant": "沒有找到編號為 {ref} 的提交，或者它不是您提交的。請用 /my 查看您的提交。",
        "en": "No submission {ref} was found, or it is not yours. Use /my to list your submissions.",
    },
    "command.unknown": {
        "zh-Hans": "抱歉，不认识这个命令。发送 /help 查看可以做什么。",
        "zh-Hant": "抱歉，不認識這個命令。發送 /help 查看可以做什麼。",
        "en": "Sorry, I do not know that command. Send /help to see what I can do.",
    },
    "edited.ignored": {
        "zh-Hans": "提示：修改已发送的消息不会改动已记下的内容。需要更正的话，请直接发一条新消息补充。",
        "zh-Hant": "提示：修改已發送的消息不會改動已記下的內容。需要更正的話，請直接發一條新消息補充。",
        "en": "Note: editing a message does not change what was already recorded. To correct something, send a new message.",
    },
    "error.apology": {
        "zh-Hans": "抱歉，处理时出了点问题，请稍后再试。您已提交的内容不会丢失。",
        "zh-Hant": "抱歉，處理時出了點問題，請稍後再試。您已提交的內容不會丟失。",
        "en": "Sorry, something went wrong. Please try again in a moment; nothing you already submitted is lost.",
    },
    "cmd.suggest": {
        "zh-Hans": "提建议",
        "zh-Hant": "提建議",
        "en": "Make a suggestion",
    },
    "cmd.report": {
        "zh-Hans": "反映问题",
        "zh-Hant": "反映問題",
        "en": "Report a problem",
    },
    "cmd.my": {
        "zh-Hans": "我的提交",
        "zh-Hant": "我的提交",
        "en": "My submissions",
    },
    "cmd.status": {
        "zh-Hans": "查看办理情况，如 /status 42",
        "zh-Hant": "查看辦理情況，如 /status 42",
        "en": "Follow one submission, e.g. /status 42",
    },
    "cmd.cancel": {
        "zh-Hans": "放弃正在填写的内容",
        "zh-Hant": "放棄正在填寫的內容",
        "en": "Discard what you are writing",
    },
    "cmd.lang": {
        "zh-Hans": "切换语言",
        "zh-Hant": "切換語言",
        "en": "Change language",
    },
    "cmd.privacy": {
        "zh-Hans": "隐私与匿名说明",
        "zh-Hant": "隱私與匿名說明",
        "en": "Privacy and anonymity",
    },
    "cmd.help": {
        "zh-Hans": "使用说明",
        "zh-Hant": "使用說明",
        "en": "Help",
    },
    "status.new": {
        "zh-Hans": "待审核",
        "zh-Hant": "待審核",
        "en": "awaiting review",
    },
    "status.accepted": {
        "zh-Hans": "已受理",
        "zh-Hant": "已受理",
        "en": "accepted",
    },
    "status.rejected": {
        "zh-Hans": "不予受理",
        "zh-Hant": "不予受理",
        "en": "not accepted",
    },
    "status.duplicate": {
        "zh-Hans": "重复",
        "zh-Hant": "重複",
        "en": "duplicate",
    },
    "status.forwarded": {
        "zh-Hans": "已转领导小组",
        "zh-Hant": "已轉領導小組",
        "en": "with the leading group",
    },
    "status.in_progress": {
        "zh-Hans": "办理中",
        "zh-Hant": "辦理中",
        "en": "in progress",
    },
    "status.answered": {
        "zh-Hans": "已答复",
        "zh-Hant": "已答覆",
        "en": "answered",
    },
    "status.published": {
        "zh-Hans": "已公开",
        "zh-Hant": "已公開",
        "en": "published",
    },
    "status.closed": {
        "zh-Hans": "已办结",
        "zh-Hant": "已辦結",
        "en": "closed",
    },
    "admin.card.title": {
        "zh-Hans": "<b>{kind} {ref}</b> · {status}",
        "zh-Hant": "<b>{kind} {ref}</b> · {status}",
        "en": "<b>{kind} {ref}</b> · {status}",
    },
    "field.sender": {
        "zh-Hans": "提交人：{value}",
        "zh-Hant": "提交人：{value}",
        "en": "From: {value}",
    },
    "field.keywords": {
        "zh-Hans": "匹配关键词：{value}",
        "zh-Hant": "匹配關鍵詞：{value}",
        "en": "Matched keywords: {value}",
    },
    "field.model": {
        "zh-Hans": "模型建议：{topic}（把握 {percent}%，依据：{ngrams}）",
        "zh-Hant": "模型建議：{topic}（把握 {percent}%，依據：{ngrams}）",
        "en": "Model suggests: {topic} ({percent}% confident; weighed most: {ngrams})",
    },
    "field.similar": {
        "zh-Hans": "相似的早先提交：{value}",
        "zh-Hant": "相似的早先提交：{value}",
        "en": "Similar earlier items: {value}",
    },
    "field.location": {
        "zh-Hans": "位置：{lat}, {lon}",
        "zh-Hant": "位置：{lat}, {lon}",
        "en": "Location: {lat}, {lon}",
    },
    "field.events": {
        "zh-Hans": "<b>记录</b>",
        "zh-Hant": "<b>記錄</b>",
        "en": "<b>Notes</b>",
    },
    "event.topic": {
        "zh-Hans": "类别调整：{value}",
        "zh-Hant": "類別調整：{value}",
        "en": "Topic changed: {value}",
    },
    "admin.action.accept": {
        "zh-Hans": "✅ 受理",
        "zh-Hant": "✅ 受理",
        "en": "✅ Accept",
    },
    "admin.action.reject": {
        "zh-Hans": "✖ 不予受理",
        "zh-Hant": "✖ 不予受理",
        "en": "✖ Reject",
    },
    "admin.action.topic": {
        "zh-Hans": "🏷 改类别",
        "zh-Hant": "🏷 改類別",
        "en": "🏷 Change topic",
    },
    "admin.action.in_progress": {
        "zh-Hans": "▶ 开始办理",
        "zh-Hant": "▶ 開始辦理",
        "en": "▶ Start handling",
    },
    "admin.action.closed": {
        "zh-Hans": "☑ 销号",
        "zh-Hant": "☑ 銷號",
        "en": "☑ Close",
    },
    "admin.action.next": {
        "zh-Hans": "下一条 ▶",
        "zh-Hant": "下一條 ▶",
        "en": "Next ▶",
    },
    "admin.action.back": {
        "zh-Hans": "◀ 返回",
        "zh-Hant": "◀ 返回",
        "en": "◀ Back",
    },
    "admin.review.empty": {
        "zh-Hans": "没有待审核的提交。",
        "zh-Hant": "沒有待審核的提交。",
        "en": "Nothing is waiting for review.",
    },
    "admin.reject.ask": {
        "zh-Hans": "请回复本消息，写明不予受理 {ref} 的理由（会转告提交人）。",
        "zh-Hant": "請回覆本消息，寫明不予受理 {ref} 的理由（會轉告提交人）。",
        "en": "Reply to this message with the reason for rejecting {ref} (the sender will be told).",
    },
    "admin.reject.empty": {
        "zh-Hans": "理由不能为空，请重新回复。",
        "zh-Hant": "理由不能為空，請重新回覆。",
        "en": "The reason cannot be empty; please reply again.",
    },
    "admin.done": {
        "zh-Hans": "{ref} 已改为「{status}」。{notified}",
        "zh-Hant": "{ref} 已改為「{status}」。{notified}",
        "en": "{ref} is now “{status}”. {notified}",
    },
    "admin.notified": {
        "zh-Hans": "已通知提交人。",
        "zh-Hant": "已通知提交人。",
        "en": "The sender will be notified.",
    },
    "admin.illegal": {
        "zh-Hans": "无法操作：{ref} 现在是「{current}」，不能改为「{target}」。",
        "zh-Hant": "無法操作：{ref} 現在是「{current}」，不能改為「{target}」。",
        "en": "Not possible: {ref} is “{current}” and cannot become “{target}”.",
    },
    "admin.topic.ask": {
        "zh-Hans": "请选择 {ref} 的类别：",
        "zh-Hant": "請選擇 {ref} 的類別：",
        "en": "Choose the topic of {ref}:",
    },
    "admin.topic.set": {
        "zh-Hans": "{ref} 的类别已改为「{topic}」。",
        "zh-Hant": "{ref} 的類別已改為「{topic}」。",
        "en": "{ref} is now under “{topic}”.",
    },
    "admin.not_found": {
        "zh-Hans": "没有编号为 {ref} 的提交。",
        "zh-Hant": "沒有編號為 {ref} 的提交。",
        "en": "There is no item {ref}.",
    },
    "admin.show.usage": {
        "zh-Hans": "请在命令后写编号，例如：/show 42",
        "zh-Hant": "請在命令後寫編號，例如：/show 42",
        "en": "Add the number, e.g. /show 42",
    },
    "admin.search.usage": {
        "zh-Hans": "请在命令后写要找的词，例如：/search 路灯",
        "zh-Hant": "請在命令後寫要找的詞，例如：/search 路燈",
        "en": "Add the words to look for, e.g. /search street light",
    },
    "admin.search.none": {
        "zh-Hans": "没有找到包含「{terms}」的提交。",
        "zh-Hant": "沒有找到包含「{terms}」的提交。",
        "en": "No item contains “{terms}”.",
    },
    "admin.search.title": {
        "zh-Hans": "包含「{terms}」的提交（最新 {n} 条）：",
        "zh-Hant": "包含「{terms}」的提交（最新 {n} 條）：",
        "en": "Items containing “{terms}” (newest {n}):",
    },
    "admin.queue.title": {
        "zh-Hans": "<b>提交概况</b>（共 {total} 条）",
        "zh-Hant": "<b>提交概況</b>（共 {total} 條）",
        "en": "<b>Queue</b> ({total} items)",
    },
    "admin.queue.count": {
        "zh-Hans": "{status}：{n}",
        "zh-Hant": "{status}：{n}",
        "en": "{status}: {n}",
    },
    "admin.queue.list": {
        "zh-Hans": "<b>{status}</b>（{first}–{last}，共 {total} 条）：",
        "zh-Hant": "<b>{status}</b>（{first}–{last}，共 {total} 條）：",
        "en": "<b>{status}</b> ({first}–{last} of {total}):",
    },
    "admin.queue.usage": {
        "zh-Hans": "用法：/queue [状态] [类别]，例如 /queue new 或 /queue accepted transport。状态：{statuses}",
        "zh-Hant": "用法：/queue [狀態] [類別]，例如 /queue new 或 /queue accepted transport。狀態：{statuses}",
        "en": "Usage: /queue [status] [topic], e.g. /queue new or /queue accepted transport. Statuses: {statuses}",
    },
    "admin.queue.line": {
        "zh-Hans": "{ref} {kind} · {topic} · {date}",
        "zh-Hant": "{ref} {kind} · {topic} · {date}",
        "en": "{ref} {kind} · {topic} · {date}",
    },
    "admin.roles": {
        "zh-Hans": "<b>配置的角色</b>\n管理员：{admins}\n办公室群：{office}\n领导小组群：{group}\n公开频道：{channel}\n新提交通知办公室群：{announce}\n\n投递：待发送 {pending}，已发送 {sent}，失败 {failed}",
        "zh-Hant": "<b>配置的角色</b>\n管理員：{admins}\n辦公室群：{office}\n領導小組群：{group}\n公開頻道：{channel}\n新提交通知辦公室群：{announce}\n\n投遞：待發送 {pending}，已發送 {sent}，失敗 {failed}",
        "en": "<b>Configured roles</b>\nAdministrators: {admins}\nOffice chat: {office}\nLeading group: {group}\nChannel: {channel}\nAnnounce new items in the office chat: {announce}\n\nDelivery: pending {pending}, sent {sent}, failed {failed}",
    },
    "admin.not_set": {
        "zh-Hans": "未配置",
        "zh-Hant": "未配置",
        "en": "not configured",
    },
    "admin.yes": {
        "zh-Hans": "是",
        "zh-Hant": "是",
        "en": "yes",
    },
    "admin.no": {
        "zh-Hans": "否",
        "zh-Hant": "否",
        "en": "no",
    },
    "admin.announce": {
        "zh-Hans": "🆕 新提交",
        "zh-Hant": "🆕 新提交",
        "en": "🆕 New item",
    },
    "admin.failed.title": {
        "zh-Hans": "<b>未能送达的消息</b>",
        "zh-Hant": "<b>未能送達的消息</b>",
        "en": "<b>Undelivered messages</b>",
    },
    "admin.failed.line": {
        "zh-Hans": "{ref}：{error}",
        "zh-Hant": "{ref}：{error}",
        "en": "{ref}: {error}",
    },
    "admin.failed.none": {
        "zh-Hans": "没有未送达的消息。",
        "zh-Hant": "沒有未送達的消息。",
        "en": "All messages were delivered.",
    },
    "admin.delivery_failed": {
        "zh-Hans": "⚠ 给 {ref} 提交人的消息未能送达：{error}",
        "zh-Hant": "⚠ 給 {ref} 提交人的消息未能送達：{error}",
        "en": "⚠ A message to the sender of {ref} could not be delivered: {error}",
    },
    "notify.accepted": {
        "zh-Hans": "您提交的{kind} {ref} 已受理，我们会尽快办理，有进展再告诉您。",
        "zh-Hant": "您提交的{kind} {ref} 已受理，我們會盡快辦理，有進展再告訴您。",
        "en": "Your {kind} {ref} has been accepted. We will let you know how it goes.",
    },
    "notify.rejected": {
        "zh-Hans": "您提交的{kind} {ref} 未予受理。\n理由：{reason}\n如有疑问，可以补充后重新提交。",
        "zh-Hant": "您提交的{kind} {ref} 未予受理。\n理由：{reason}\n如有疑問，可以補充後重新提交。",
        "en": "Your {kind} {ref} was not accepted.\nReason: {reason}\nYou are welcome to submit it again with more detail.",
    },
    "notify.in_progress": {
        "zh-Hans": "您提交的{kind} {ref} 正在办理中。",
        "zh-Hant": "您提交的{kind} {ref} 正在辦理中。",
        "en": "Your {kind} {ref} is being handled.",
    },
    "notify.closed": {
        "zh-Hans": "您提交的{kind} {ref} 已办结销号，谢谢您的参与！",
        "zh-Hant": "您提交的{kind} {ref} 已辦結銷號，謝謝您的參與！",
        "en": "Your {kind} {ref} has been closed. Thank you for taking part!",
    },
    "cmd.review": {
        "zh-Hans": "审核下一条提交",
        "zh-Hant": "審核下一條提交",
        "en": "review the next item",
    },
    "cmd.queue": {
        "zh-Hans": "提交概况与列表",
        "zh-Hant": "提交概況與列表",
        "en": "queue counts and lists",
    },
    "cmd.show": {
        "zh-Hans": "查看某条提交",
        "zh-Hant": "查看某條提交",
        "en": "show one item",
    },
    "cmd.search": {
        "zh-Hans": "全文搜索",
        "zh-Hant": "全文搜索",
        "en": "full-text search",
    },
    "cmd.admins": {
        "zh-Hans": "查看角色配置",
        "zh-Hant": "查看角色配置",
        "en": "show the configured roles",
    },
    "cmd.failed": {
        "zh-Hans": "未送达的消息",
        "zh-Hant": "未送達的消息",
        "en": "undelivered messages",
    },
    "admin.action.duplicate": {
        "zh-Hans": "🔁 重复",
        "zh-Hant": "🔁 重複",
        "en": "🔁 Duplicate",
    },
    "admin.action.ask": {
        "zh-Hans": "❓ 请提交人补充",
        "zh-Hant": "❓ 請提交人補充",
        "en": "❓ Ask the sender",
    },
    "admin.action.forward": {
        "zh-Hans": "📤 转领导小组",
        "zh-Hant": "📤 轉領導小組",
        "en": "📤 To the leading group",
    },
    "admin.action.assign": {
        "zh-Hans": "👤 指定承办",
        "zh-Hant": "👤 指定承辦",
        "en": "👤 Assign",
    },
    "admin.action.answer": {
        "zh-Hans": "💬 答复",
        "zh-Hant": "💬 答覆",
        "en": "💬 Respond",
    },
    "admin.action.publish": {
        "zh-Hans": "📢 公开",
        "zh-Hant": "📢 公開",
        "en": "📢 Publish",
    },
    "field.owner": {
        "zh-Hans": "承办：{owner}，期限 {deadline}",
        "zh-Hant": "承辦：{owner}，期限 {deadline}",
        "en": "Owner: {owner}, due {deadline}",
    },
    "field.overdue": {
        "zh-Hans": "⏰ 已逾期 {days} 天",
        "zh-Hant": "⏰ 已逾期 {days} 天",
        "en": "⏰ Overdue by {days} days",
    },
    "field.duplicate_of": {
        "zh-Hans": "与 {ref} 重复",
        "zh-Hant": "與 {ref} 重複",
        "en": "Duplicate of {ref}",
    },
    "field.response": {
        "zh-Hans": "<b>答复</b>：{value}",
        "zh-Hant": "<b>答覆</b>：{value}",
        "en": "<b>Response</b>: {value}",
    },
    "field.rating": {
        "zh-Hans": "评价：{value}",
        "zh-Hant": "評價：{value}",
        "en": "Rating: {value}",
    },
    "field.published": {
        "zh-Hans": "已公开：{value}",
        "zh-Hant": "已公開：{value}",
        "en": "Published: {value}",
    },
    "event.instruction": {
        "zh-Hans": "领导小组批示（{who}）：{value}",
        "zh-Hant": "領導小組批示（{who}）：{value}",
        "en": "Leading group instruction ({who}): {value}",
    },
    "event.question": {
        "zh-Hans": "向提交人提问：{value}",
        "zh-Hant": "向提交人提問：{value}",
        "en": "Asked the sender: {value}",
    },
    "event.answer": {
        "zh-Hans": "提交人补充：{value}",
        "zh-Hant": "提交人補充：{value}",
        "en": "Sender added: {value}",
    },
    "event.duplicate": {
        "zh-Hans": "合并了重复的 {value}",
        "zh-Hant": "合併了重複的 {value}",
        "en": "Merged duplicate {value}",
    },
    "event.assign": {
        "zh-Hans": "指定承办：{value}",
        "zh-Hant": "指定承辦：{value}",
        "en": "Assigned: {value}",
    },
    "event.rating": {
        "zh-Hans": "提交人评价：{value}",
        "zh-Hant": "提交人評價：{value}",
        "en": "Sender rated: {value}",
    },
    "rating.satisfied": {
        "zh-Hans": "满意",
        "zh-Hant": "滿意",
        "en": "satisfied",
    },
    "rating.basically": {
        "zh-Hans": "基本满意",
        "zh-Hant": "基本滿意",
        "en": "basically satisfied",
    },
    "rating.unsatisfied": {
        "zh-Hans": "不满意",
        "zh-Hant": "不滿意",
        "en": "not satisfied",
    },
    "admin.duplicate.ask": {
        "zh-Hans": "请回复本消息，写明 {ref} 与哪一条重复（如 #12）。",
        "zh-Hant": "請回覆本消息，寫明 {ref} 與哪一條重複（如 #12）。",
        "en": "Reply to this message with the number {ref} duplicates (e.g. #12).",
    },
    "admin.duplicate.bad": {
        "zh-Hans": "请写一个存在的、不同的编号，例如 #12。",
        "zh-Hant": "請寫一個存在的、不同的編號，例如 #12。",
        "en": "Please give an existing, different number, e.g. #12.",
    },
    "admin.ask.ask": {
        "zh-Hans": "请回复本消息，写下要请 {ref} 的提交人补充的问题（提交人的身份不会显示）。",
        "zh-Hant": "請回覆本消息，寫下要請 {ref} 的提交人補充的問題（提交人的身份不會顯示）。",
        "en": "Reply to this message with your question for the sender of {ref} (their identity stays hidden).",
    },
    "admin.assign.ask": {
        "zh-Hans": "请回复本消息，写明 {ref} 的承办单位或人员；可在后面加期限天数或日期，如「城建办 10」或「城建办 2026-12-31」。默认期限 {days} 天。{owners}",
        "zh-Hant": "請回覆本消息，寫明 {ref} 的承辦單位或人員；可在後面加期限天數或日期，如「城建辦 10」或「城建辦 2026-12-31」。默認期限 {days} 天。{owners}",
        "en": "Reply to this message with who handles {ref}; add a number of days or a date for the deadline, e.g. “Works office 10” or “Works office 2026-12-31”. Default: {days} days. {owners}",
    },
    "admin.assign.owners": {
        "zh-Hans": "常用：{owners}",
        "zh-Hant": "常用：{owners}",
        "en": "Usual: {owners}",
    },
    "admin.assign.done": {
        "zh-Hans": "{ref} 由「{owner}」承办，期限 {deadline}。",
        "zh-Hant": "{ref} 由「{owner}」承辦，期限 {deadline}。",
        "en": "{ref} is assigned to “{owner}”, due {deadline}.",
    },
    "admin.answer.ask": {
        "zh-Hans": "请回复本消息，写下对 {ref} 的正式答复（会发给提交人，公开时一并发布）。",
        "zh-Hant": "請回覆本消息，寫下對 {ref} 的正式答覆（會發給提交人，公開時一併發佈）。",
        "en": "Reply to this message with the official response to {ref} (sent to the sender, and published with the item).",
    },
    "admin.question.sent": {
        "zh-Hans": "问题已发给 {ref} 的提交人。",
        "zh-Hant": "問題已發給 {ref} 的提交人。",
        "en": "The question was sent to the sender of {ref}.",
    },
    "admin.forwarded": {
        "zh-Hans": "{ref} 已转领导小组。",
        "zh-Hant": "{ref} 已轉領導小組。",
        "en": "{ref} was passed to the leading group.",
    },
    "admin.no_group": {
        "zh-Hans": "没有配置领导小组群（roles.leading_group_chat_id）。",
        "zh-Hant": "沒有配置領導小組群（roles.leading_group_chat_id）。",
        "en": "No leading group chat is configured (roles.leading_group_chat_id).",
    },
    "admin.no_channel": {
        "zh-Hans": "没有配置公开频道（roles.channel_id）。",
        "zh-Hant": "沒有配置公開頻道（roles.channel_id）。",
        "en": "No public channel is configured (roles.channel_id).",
    },
    "admin.published": {
        "zh-Hans": "{ref} 已公开到频道。",
        "zh-Hant": "{ref} 已公開到頻道。",
        "en": "{ref} was published to the channel.",
    },
    "admin.text.empty": {
        "zh-Hans": "内容不能为空，请重新回复。",
        "zh-Hant": "內容不能為空，請重新回覆。",
        "en": "The text cannot be empty; please reply again.",
    },
    "office.answer": {
        "zh-Hans": "💬 {ref} 的提交人补充：\n{text}",
        "zh-Hant": "💬 {ref} 的提交人補充：\n{text}",
        "en": "💬 The sender of {ref} added:\n{text}",
    },
    "office.instruction": {
        "zh-Hans": "📝 领导小组对 {ref} 的批示（{who}）：\n{text}",
        "zh-Hant": "📝 領導小組對 {ref} 的批示（{who}）：\n{text}",
        "en": "📝 Instruction on {ref} from the leading group ({who}):\n{text}",
    },
    "office.rating": {
        "zh-Hans": "⭐ {ref} 的提交人评价：{rating}",
        "zh-Hant": "⭐ {ref} 的提交人評價：{rating}",
        "en": "⭐ The sender of {ref} rated the response: {rating}",
    },
    "group.card.heading": {
        "zh-Hans": "📋 活动办公室转交，请批示（直接回复本消息即可）",
        "zh-Hant": "📋 活動辦公室轉交，請批示（直接回覆本消息即可）",
        "en": "📋 Passed on by the campaign office: reply to this message with your instruction",
    },
    "group.instruction.saved": {
        "zh-Hans": "批示已记录并转办公室。",
        "zh-Hant": "批示已記錄並轉辦公室。",
        "en": "The instruction was recorded and passed to the office.",
    },
    "notify.question": {
        "zh-Hans": "关于您提交的 {ref}，办公室想了解：\n{question}\n\n请直接回复本消息作答。",
        "zh-Hant": "關於您提交的 {ref}，辦公室想了解：\n{question}\n\n請直接回覆本消息作答。",
        "en": "About your {ref}, the campaign office asks:\n{question}\n\nReply to this message to answer.",
    },
    "notify.answer_saved": {
        "zh-Hans": "谢谢，您的补充已附在 {ref} 上。",
        "zh-Hant": "謝謝，您的補充已附在 {ref} 上。",
        "en": "Thank you, your answer was added to {ref}.",
    },
    "notify.duplicate": {
        "zh-Hans": "您提交的{kind} {ref} 与 {original} 内容相同，已合并。之后 {original} 的进展也会通知您。",
        "zh-Hant": "您提交的{kind} {ref} 與 {original} 內容相同，已合併。之後 {original} 的進展也會通知您。",
        "en": "Your {kind} {ref} is the same as {original} and was merged into it. You will be told how {original} goes.",
    },
    "notify.merged": {
        "zh-Hans": "另有群众反映了与您的 {ref} 相同的内容，已合并到您的提交中。",
        "zh-Hant": "另有群眾反映了與您的 {ref} 相同的內容，已合併到您的提交中。",
        "en": "Another resident raised the same as your {ref}; it was merged into yours.",
    },
    "notify.response": {
        "zh-Hans": "您提交的{kind} {ref} 有了答复：\n\n{response}\n\n您对这个答复满意吗？",
        "zh-Hant": "您提交的{kind} {ref} 有了答覆：\n\n{response}\n\n您對這個答覆滿意嗎？",
        "en": "Your {kind} {ref} has a response:\n\n{response}\n\nAre you satisfied with it?",
    },
    "notify.followed_response": {
        "zh-Hans": "与您反映相同内容的 {ref} 有了答复：\n\n{response}",
        "zh-Hant": "與您反映相同內容的 {ref} 有了答覆：\n\n{response}",
        "en": "{ref}, which you raised too, has a response:\n\n{response}",
    },
    "notify.published": {
        "zh-Hans": "您提交的{kind} {ref} 及答复已公开。",
        "zh-Hant": "您提交的{kind} {ref} 及答覆已公開。",
        "en": "Your {kind} {ref} and its response have been published.",
    },
    "rate.thanks": {
        "zh-Hans": "谢谢您的评价：{rating}。",
        "zh-Hant": "謝謝您的評價：{rating}。",
        "en": "Thank you for your rating: {rating}.",
    },
    "channel.post": {
        "zh-Hans": "【金点子】{ref} {kind} · {topic}\n\n{text}\n\n<b>答复</b>：{response}",
        "zh-Hant": "【金點子】{ref} {kind} · {topic}\n\n{text}\n\n<b>答覆</b>：{response}",
        "en": "【Suggestion box】{ref} {kind} · {topic}\n\n{text}\n\n<b>Response</b>: {response}",
    },
    "channel.thanks": {
        "zh-Hans": "感谢 {name} 的{kind}！",
        "zh-Hant": "感謝 {name} 的{kind}！",
        "en": "Thanks to {name} for this {kind}!",
    },
    "digest.title": {
        "zh-Hans": "<b>📋 {campaign} · 每日简报 {date}</b>",
        "zh-Hant": "<b>📋 {campaign} · 每日簡報 {date}</b>",
        "en": "<b>📋 {campaign} · daily digest {date}</b>",
    },
    "digest.weekly_title": {
        "zh-Hans": "<b>📅 {campaign} · 每周汇总 {date}</b>",
        "zh-Hant": "<b>📅 {campaign} · 每週彙總 {date}</b>",
        "en": "<b>📅 {campaign} · weekly summary {date}</b>",
    },
    "digest.quiet": {
        "zh-Hans": "自 {since} 以来没有新的变化，没有待办事项。",
        "zh-Hant": "自 {since} 以來沒有新的變化，沒有待辦事項。",
        "en": "Nothing new since {since}, and nothing waiting.",
    },
    "digest.new": {
        "zh-Hans": "新提交 {n} 条：{kinds}",
        "zh-Hant": "新提交 {n} 條：{kinds}",
        "en": "New items: {n} ({kinds})",
    },
    "digest.by_topic": {
        "zh-Hans": "按类别：{topics}",
        "zh-Hant": "按類別：{topics}",
        "en": "By topic: {topics}",
    },
    "digest.awaiting_review": {
        "zh-Hans": "待审核：{n} 条",
        "zh-Hant": "待審核：{n} 條",
        "en": "Awaiting review: {n}",
    },
    "digest.forwarded": {
        "zh-Hans": "已转领导小组、待批示：{n} 条 {refs}",
        "zh-Hant": "已轉領導小組、待批示：{n} 條 {refs}",
        "en": "With the leading group: {n} {refs}",
    },
    "digest.overdue": {
        "zh-Hans": "⏰ 逾期未办结：{n} 条",
        "zh-Hant": "⏰ 逾期未辦結：{n} 條",
        "en": "⏰ Overdue: {n}",
    },
    "digest.overdue_line": {
        "zh-Hans": "  {ref} {owner}，逾期 {days} 天",
        "zh-Hant": "  {ref} {owner}，逾期 {days} 天",
        "en": "  {ref} {owner}, {days} days overdue",
    },
    "digest.published": {
        "zh-Hans": "已公开答复：{n} 条",
        "zh-Hant": "已公開答覆：{n} 條",
        "en": "Responses published: {n}",
    },
    "digest.satisfaction": {
        "zh-Hans": "群众评价（共 {n} 条）：满意 {satisfied}，基本满意 {basically}，不满意 {unsatisfied}",
        "zh-Hant": "群眾評價（共 {n} 條）：滿意 {satisfied}，基本滿意 {basically}，不滿意 {unsatisfied}",
        "en": "Ratings so far ({n}): satisfied {satisfied}, basically {basically}, not satisfied {unsatisfied}",
    },
    "digest.top_topics": {
        "zh-Hans": "本周热点：{topics}",
        "zh-Hant": "本週熱點：{topics}",
        "en": "Top topics this week: {topics}",
    },
    "stats.title": {
        "zh-Hans": "<b>📊 统计 {start} 至 {end}</b>：共 {total} 条",
        "zh-Hant": "<b>📊 統計 {start} 至 {end}</b>：共 {total} 條",
        "en": "<b>📊 Statistics {start} to {end}</b>: {total} items",
    },
    "stats.by_kind": {
        "zh-Hans": "类型：{value}",
        "zh-Hant": "類型：{value}",
        "en": "By kind: {value}",
    },
    "stats.by_status": {
        "zh-Hans": "状态：{value}",
        "zh-Hant": "狀態：{value}",
        "en": "By status: {value}",
    },
    "stats.by_topic": {
        "zh-Hans": "类别：{value}",
        "zh-Hant": "類別：{value}",
        "en": "By topic: {value}",
    },
    "stats.identity": {
        "zh-Hans": "实名 {named}，匿名 {anonymous}",
        "zh-Hant": "實名 {named}，匿名 {anonymous}",
        "en": "Named {named}, anonymous {anonymous}",
    },
    "stats.first_response": {
        "zh-Hans": "首次响应时间中位数：{hours} 小时",
        "zh-Hant": "首次響應時間中位數：{hours} 小時",
        "en": "Median time to first response: {hours} hours",
    },
    "stats.in_time": {
        "zh-Hans": "按期答复率：{share}（有期限的 {n} 条）",
        "zh-Hant": "按期答覆率：{share}（有期限的 {n} 條）",
        "en": "Answered within the deadline: {share} (of {n} with a deadline)",
    },
    "stats.satisfaction": {
        "zh-Hans": "满意度（{n} 条评价）：满意 {satisfied}，基本满意 {basically}，不满意 {unsatisfied}",
        "zh-Hant": "滿意度（{n} 條評價）：滿意 {satisfied}，基本滿意 {basically}，不滿意 {unsatisfied}",
        "en": "Satisfaction ({n} ratings): satisfied {satisfied}, basically {basically}, not satisfied {unsatisfied}",
    },
    "stats.usage": {
        "zh-Hans": "用法：/stats [开始日期] [结束日期]，如 /stats 2026-11-01 2026-11-30（默认最近 30 天）",
        "zh-Hant": "用法：/stats [開始日期] [結束日期]，如 /stats 2026-11-01 2026-11-30（默認最近 30 天）",
        "en": "Usage: /stats [from] [to], e.g. /stats 2026-11-01 2026-11-30 (default: the last 30 days)",
    },
    "export.usage": {
        "zh-Hans": "用法：/export [开始日期] [结束日期] [csv]，默认全部、XLSX 格式",
        "zh-Hant": "用法：/export [開始日期] [結束日期] [csv]，默認全部、XLSX 格式",
        "en": "Usage: /export [from] [to] [csv]; default: everything, as XLSX",
    },
    "card.full_text": {
        "zh-Hans": "📄 <b>{ref} 全文</b>",
        "zh-Hant": "📄 <b>{ref} 全文</b>",
        "en": "📄 <b>{ref} in full</b>",
    },
    "card.full_text_file": {
        "zh-Hans": "{ref} 全文（内容较长，以文件发送）",
        "zh-Hant": "{ref} 全文（內容較長，以文件發送）",
        "en": "{ref} in full (long, so sent as a file)",
    },
    "dates.range": {
        "zh-Hans": "日期须在 {first} 至 {last} 之间，格式为 YYYY-MM-DD，如 2026-11-01。",
        "zh-Hant": "日期須在 {first} 至 {last} 之間，格式為 YYYY-MM-DD，如 2026-11-01。",
        "en": "Dates must lie between {first} and {last}, written YYYY-MM-DD, e.g. 2026-11-01.",
    },
    "export.caption": {
        "zh-Hans": "整改台账 {start} 至 {end}，共 {n} 条",
        "zh-Hant": "整改臺賬 {start} 至 {end}，共 {n} 條",
        "en": "Ledger {start} to {end}: {n} items",
    },
    "ledger.ref": {
        "zh-Hans": "编号",
        "zh-Hant": "編號",
        "en": "Ref",
    },
    "ledger.date": {
        "zh-Hans": "日期",
        "zh-Hant": "日期",
        "en": "Date",
    },
    "ledger.kind": {
        "zh-Hans": "类型",
        "zh-Hant": "類型",
        "en": "Kind",
    },
    "ledger.topic": {
        "zh-Hans": "类别",
        "zh-Hant": "類別",
        "en": "Topic",
    },
    "ledger.summary": {
        "zh-Hans": "内容摘要",
        "zh-Hant": "內容摘要",
        "en": "Summary",
    },
    "ledger.sender": {
        "zh-Hans": "提交人",
        "zh-Hant": "提交人",
        "en": "Sender",
    },
    "ledger.status": {
        "zh-Hans": "状态",
        "zh-Hant": "狀態",
        "en": "Status",
    },
    "ledger.owner": {
        "zh-Hans": "承办单位",
        "zh-Hant": "承辦單位",
        "en": "Owner",
    },
    "ledger.deadline": {
        "zh-Hans": "办结期限",
        "zh-Hant": "辦結期限",
        "en": "Deadline",
    },
    "ledger.overdue": {
        "zh-Hans": "逾期天数",
        "zh-Hant": "逾期天數",
        "en": "Days overdue",
    },
    "ledger.instruction": {
        "zh-Hans": "领导批示",
        "zh-Hant": "領導批示",
        "en": "Leading group instruction",
    },
    "ledger.response": {
        "zh-Hans": "答复",
        "zh-Hant": "答覆",
        "en": "Response",
    },
    "ledger.published": {
        "zh-Hans": "公开日期",
        "zh-Hant": "公開日期",
        "en": "Published",
    },
    "ledger.rating": {
        "zh-Hans": "群众评价",
        "zh-Hant": "群眾評價",
        "en": "Rating",
    },
    "ledger.anonymous": {
        "zh-Hans": "匿名",
        "zh-Hant": "匿名",
        "en": "Anonymous",
    },
    "ledger.title": {
        "zh-Hans": "整改台账",
        "zh-Hant": "整改臺賬",
        "en": "Ledger",
    },
    "cmd.digest": {
        "zh-Hans": "发送今日简报",
        "zh-Hant": "發送今日簡報",
        "en": "send today's digest",
    },
    "cmd.stats": {
        "zh-Hans": "统计",
        "zh-Hant": "統計",
        "en": "statistics",
    },
    "cmd.export": {
        "zh-Hans": "导出整改台账",
        "zh-Hant": "導出整改臺賬",
        "en": "export the ledger",
    },
    "chart.title": {
        "zh-Hans": "金点子 {start} 至 {end}",
        "zh-Hant": "金點子 {start} 至 {end}",
        "en": "Suggestion box {start} to {end}",
    },
    "chart.per_day": {
        "zh-Hans": "每日提交（按类别）",
        "zh-Hant": "每日提交（按類別）",
        "en": "Items per day, by topic",
    },
    "chart.funnel": {
        "zh-Hans": "办理进度（到达各状态的条数）",
        "zh-Hant": "辦理進度（到達各狀態的條數）",
        "en": "Progress: items that reached each status",
    },
    "chart.others": {
        "zh-Hans": "其他类别",
        "zh-Hant": "其他類別",
        "en": "other topics",
    },
    "limit.reached": {
        "zh-Hans": "您一小时内已经提交了 {limit} 条，请稍后再点「确认提交」。这份草稿会保留，不会丢失。",
        "zh-Hant": "您一小時內已經提交了 {limit} 條，請稍後再點「確認提交」。這份草稿會保留，不會丟失。",
        "en": "You have sent {limit} items within the hour. Please tap “Submit” again a little later; this draft is kept.",
    },
}


def t(lang: str, key: str, **values: Any) -> str:
    """The message ``key`` in ``lang`` (falling back to Simplified Chinese), formatted."""
    entry = MESSAGES[key]
    template: str = entry.get(lang, entry[DEFAULT_LANGUAGE])  # type: ignore[call-overload]
    return template.format(**values) if values else template


def resolve_language(code: str | None, default: Language = DEFAULT_LANGUAGE) -> Language:
    """Map a stored choice or a Telegram ``language_code`` (zh-hans, zh-TW, en-US...) to ours."""
    if not code:
        return default
    if code in LANGUAGES:
        return code
    lowered = code.lower().replace("_", "-")
    if lowered.startswith("zh"):
        if any(tag in lowered for tag in ("hant", "-tw", "-hk", "-mo")):
            return "zh-Hant"
        return "zh-Hans"
    if lowered.startswith("en"):
        return "en"
    return default
