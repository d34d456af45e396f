"""Accounts: where one comes from (sources), reading its limits and usage (read), the AWS
sessions and error translation (aws), recorded accounts (snapshot)."""
