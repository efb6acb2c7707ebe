import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.management.base import BaseCommand
from django.urls import reverse

from accounts.models import Role


class Command(BaseCommand):
    help = "Make sure an admin account exists; a new one gets a random password, printed once."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, *args, username: str, **options):
        User = get_user_model()
        if User.objects.filter(is_superuser=True, is_active=True).exists():
            self.stdout.write(
                "An admin account exists. Log in with it, or reset a password with "
                f"`python manage.py changepassword {username}`."
            )
            return
        password = secrets.token_urlsafe(16)
        validate_password(password)  # random, but held to the same rules as every password we set
        user = User.objects.create_superuser(username=username, email="", password=password)
        admin_role = Role.objects.filter(name="Admin").first()
        if admin_role:
            user.groups.set([admin_role])
        self.stdout.write(self.style.SUCCESS(f"Created admin account — username: {username}  password: {password}"))
        self.stdout.write(
            f"The password is shown only now; after logging in, change it on {reverse('password_change')} "
            "(also under “My password” in the navigation)."
        )
