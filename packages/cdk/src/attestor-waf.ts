import type * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';

/** The protocol's body limit (PROTOCOL.md §2.1); the handlers enforce it too. */
export const MAX_BODY_BYTES = 16_384;

export interface AttestorWebAclProps {
  /** The API stage the web ACL protects. */
  readonly stage: apigw.Stage;
  /** Path suffixes (e.g. `/v1/attest`) whose requests count toward the per-IP rate limit. */
  readonly rateLimitedPaths: readonly string[];
  /**
   * Requests one client IP may send to `rateLimitedPaths` in 5 minutes before WAF answers 429 for
   * the rest of the window. A device attests about once per token TTL (two requests), but mobile
   * carriers put many devices behind one address (carrier-grade NAT), so this is set for a crowd.
   * @default 600
   */
  readonly rateLimitPer5Minutes?: number;
  /**
   * Largest request body accepted (bytes), on every route; larger bodies get 413 with the
   * protocol's error body before reaching a Lambda. At most 16384: API Gateway lets WAF inspect
   * the first 16 KB without extra charge, and bodies beyond what was inspected count as too large.
   * @default 16384
   */
  readonly maxBodyBytes?: number;
  /**
   * Name of the web ACL's CloudWatch metrics.
   * @default 'attestor'
   */
  readonly metricName?: string;
}

/**
 * The WAF web ACL in front of the Attestor stage. Rules, in order:
 * 1. BodyTooLarge: bodies over maxBodyBytes are blocked with the protocol's 413 body.
 * 2. AttestationRatePerIp: per-IP rate limit on the challenge and attest routes, blocked with 429
 *    (which the SDK treats as transient and retries with backoff; PROTOCOL.md §2.1).
 * 3. AWSManagedRulesCommonRuleSet (AWS's baseline: bad inputs, XSS, LFI, bad bots), with its 8 KB
 *    body-size rule only counting, since rule 1 applies the protocol's own 16 KB limit.
 */
export class AttestorWebAcl extends Construct {
  readonly webAcl: wafv2.CfnWebACL;

  constructor(scope: Construct, id: string, props: AttestorWebAclProps) {
    super(scope, id);
    const limit = props.rateLimitPer5Minutes ?? 600;
    const maxBody = props.maxBodyBytes ?? MAX_BODY_BYTES;
    const metricName = props.metricName ?? 'attestor';
    if (!Number.isInteger(limit) || limit < 10 || limit > 2_000_000_000) {
      throw new Error(`AttestorWebAcl: rateLimitPer5Minutes must be a whole number from 10 (WAF's minimum) to 2000000000, got ${limit}`);
    }
    if (!Number.isInteger(maxBody) || maxBody < 1 || maxBody > MAX_BODY_BYTES) {
      throw new Error(
        `AttestorWebAcl: maxBodyBytes must be a whole number from 1 to ${MAX_BODY_BYTES} (the body WAF inspects for API Gateway), got ${maxBody}`,
      );
    }
    if (props.rateLimitedPaths.length === 0) throw new Error('AttestorWebAcl: rateLimitedPaths must name at least one path');

    const visibility = (name: string): wafv2.CfnWebACL.VisibilityConfigProperty => ({
      cloudWatchMetricsEnabled: true,
      metricName: `${metricName}-${name}`,
      sampledRequestsEnabled: true,
    });
    // The stage is part of the path on execute-api hostnames (/prod/v1/attest) and not on custom
    // domains (/v1/attest): match the route wherever it sits in the path.
    const pathMatches: wafv2.CfnWebACL.StatementProperty[] = props.rateLimitedPaths.map((p) => ({
      byteMatchStatement: {
        fieldToMatch: { uriPath: {} },
        positionalConstraint: 'CONTAINS',
        searchString: p,
        textTransformations: [{ priority: 0, type: 'NONE' }],
      },
    }));

    this.webAcl = new wafv2.CfnWebACL(this, 'WebAcl', {
      scope: 'REGIONAL',
      defaultAction: { allow: {} },
      visibilityConfig: visibility('webacl'),
      // Stated explicitly because rule 1 relies on it: WAF inspects the first 16 KB of API Gateway bodies.
      associationConfig: { requestBody: { API_GATEWAY: { defaultSizeInspectionLimit: 'KB_16' } } },
      customResponseBodies: {
        'body-too-large': {
          contentType: 'APPLICATION_JSON',
          content: JSON.stringify({ error: 'body_too_large', message: `body must be at most ${maxBody} bytes` }),
        },
        'rate-limited': { contentType: 'APPLICATION_JSON', content: JSON.stringify({ error: 'rate_limited' }) },
      },
      rules: [
        {
          name: 'BodyTooLarge',
          priority: 0,
          statement: {
            sizeConstraintStatement: {
              // MATCH: a body longer than WAF inspected is, by definition, too large.
              fieldToMatch: { body: { oversizeHandling: 'MATCH' } },
              comparisonOperator: 'GT',
              size: maxBody,
              textTransformations: [{ priority: 0, type: 'NONE' }],
            },
          },
          action: { block: { customResponse: { responseCode: 413, customResponseBodyKey: 'body-too-large' } } },
          visibilityConfig: visibility('body-too-large'),
        },
        {
          name: 'AttestationRatePerIp',
          priority: 1,
          statement: {
            rateBasedStatement: {
              aggregateKeyType: 'IP',
              limit,
              evaluationWindowSec: 300,
              scopeDownStatement: pathMatches.length === 1 ? pathMatches[0]! : { orStatement: { statements: pathMatches } },
            },
          },
          action: { block: { customResponse: { responseCode: 429, customResponseBodyKey: 'rate-limited' } } },
          visibilityConfig: visibility('attestation-rate'),
        },
        {
          name: 'AWSManagedRulesCommonRuleSet',
          priority: 2,
          overrideAction: { none: {} },
          statement: {
            managedRuleGroupStatement: {
              vendorName: 'AWS',
              name: 'AWSManagedRulesCommonRuleSet',
              ruleActionOverrides: [{ name: 'SizeRestrictions_BODY', actionToUse: { count: {} } }],
            },
          },
          visibilityConfig: visibility('common'),
        },
      ],
    });

    new wafv2.CfnWebACLAssociation(this, 'Association', {
      resourceArn: props.stage.stageArn,
      webAclArn: this.webAcl.attrArn,
    });
  }
}
