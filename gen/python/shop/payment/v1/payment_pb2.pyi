import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from shop.common.v1 import money_pb2 as _money_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ChargeStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CHARGE_STATUS_UNSPECIFIED: _ClassVar[ChargeStatus]
    CHARGE_STATUS_SUCCEEDED: _ClassVar[ChargeStatus]
    CHARGE_STATUS_REFUNDED: _ClassVar[ChargeStatus]
CHARGE_STATUS_UNSPECIFIED: ChargeStatus
CHARGE_STATUS_SUCCEEDED: ChargeStatus
CHARGE_STATUS_REFUNDED: ChargeStatus

class CreditCard(_message.Message):
    __slots__ = ("number", "cvv", "expiration_year", "expiration_month")
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    CVV_FIELD_NUMBER: _ClassVar[int]
    EXPIRATION_YEAR_FIELD_NUMBER: _ClassVar[int]
    EXPIRATION_MONTH_FIELD_NUMBER: _ClassVar[int]
    number: str
    cvv: str
    expiration_year: int
    expiration_month: int
    def __init__(self, number: _Optional[str] = ..., cvv: _Optional[str] = ..., expiration_year: _Optional[int] = ..., expiration_month: _Optional[int] = ...) -> None: ...

class Charge(_message.Message):
    __slots__ = ("id", "idempotency_key", "amount", "status", "card_last4", "create_time", "refund_time", "refund_reason")
    ID_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CARD_LAST4_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    REFUND_TIME_FIELD_NUMBER: _ClassVar[int]
    REFUND_REASON_FIELD_NUMBER: _ClassVar[int]
    id: str
    idempotency_key: str
    amount: _money_pb2.Money
    status: ChargeStatus
    card_last4: str
    create_time: _timestamp_pb2.Timestamp
    refund_time: _timestamp_pb2.Timestamp
    refund_reason: str
    def __init__(self, id: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., amount: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., status: _Optional[_Union[ChargeStatus, str]] = ..., card_last4: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., refund_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., refund_reason: _Optional[str] = ...) -> None: ...

class ChargeRequest(_message.Message):
    __slots__ = ("idempotency_key", "amount", "card")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    CARD_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    amount: _money_pb2.Money
    card: CreditCard
    def __init__(self, idempotency_key: _Optional[str] = ..., amount: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., card: _Optional[_Union[CreditCard, _Mapping]] = ...) -> None: ...

class ChargeResponse(_message.Message):
    __slots__ = ("charge",)
    CHARGE_FIELD_NUMBER: _ClassVar[int]
    charge: Charge
    def __init__(self, charge: _Optional[_Union[Charge, _Mapping]] = ...) -> None: ...

class RefundRequest(_message.Message):
    __slots__ = ("charge_id", "reason")
    CHARGE_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    charge_id: str
    reason: str
    def __init__(self, charge_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class RefundResponse(_message.Message):
    __slots__ = ("charge",)
    CHARGE_FIELD_NUMBER: _ClassVar[int]
    charge: Charge
    def __init__(self, charge: _Optional[_Union[Charge, _Mapping]] = ...) -> None: ...

class GetChargeRequest(_message.Message):
    __slots__ = ("charge_id",)
    CHARGE_ID_FIELD_NUMBER: _ClassVar[int]
    charge_id: str
    def __init__(self, charge_id: _Optional[str] = ...) -> None: ...

class GetChargeResponse(_message.Message):
    __slots__ = ("charge",)
    CHARGE_FIELD_NUMBER: _ClassVar[int]
    charge: Charge
    def __init__(self, charge: _Optional[_Union[Charge, _Mapping]] = ...) -> None: ...

class ResolveChargeRequest(_message.Message):
    __slots__ = ("idempotency_key",)
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    def __init__(self, idempotency_key: _Optional[str] = ...) -> None: ...

class ResolveChargeResponse(_message.Message):
    __slots__ = ("charge", "not_charged_reason")
    CHARGE_FIELD_NUMBER: _ClassVar[int]
    NOT_CHARGED_REASON_FIELD_NUMBER: _ClassVar[int]
    charge: Charge
    not_charged_reason: str
    def __init__(self, charge: _Optional[_Union[Charge, _Mapping]] = ..., not_charged_reason: _Optional[str] = ...) -> None: ...
