"""互动回应 lives in :mod:`oversight.interaction` (comments and messages, the per-unit inbox,
replies, the ``interaction_overdue`` / ``no_interaction_channel`` findings); WeChat 留言 are read
for the articles govmedia sent by 群发 (their ``msg_data_id`` is kept on the delivery) and for
other 群发 articles the statistics API shows read lately; replies made on the platform itself
(公众平台 backend, Weibo and Douyin apps) are detected. This module only points there
(docs/monitoring.md 互动回应)."""
