"""Extensions made unbound here and attached to the app in create_app."""

from flask_babel import Babel
from flask_bootstrap import Bootstrap5
from flask_login import LoginManager
from flask_wtf import CSRFProtect

from marketplace.accounts.throttle import LoginThrottle
from marketplace.db import Database
from marketplace.redis_store import RedisStore

db = Database()
redis_store = RedisStore()
babel = Babel()
bootstrap = Bootstrap5()
csrf = CSRFProtect()
login_manager = LoginManager()
login_throttle = LoginThrottle()
