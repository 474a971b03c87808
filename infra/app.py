"""CDK entry point (`cdk.json` runs `python -m infra.app`): one stack, checked by cdk-nag on every synth."""

from __future__ import annotations

from aws_cdk import App, Validations
from cdk_nag import AwsSolutionsChecks

from infra.config import InfraConfig
from infra.stack import FraudDetectionStack


def build(app: App) -> FraudDetectionStack:
    """Add the stack, configured from the app's context, and the AWS Solutions checks (findings fail)."""
    config = InfraConfig.from_context(app.node)
    stack = FraudDetectionStack(app, config.stack_name, config=config)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return stack


def main() -> None:
    app = App()
    build(app)
    app.synth()


if __name__ == "__main__":
    main()
