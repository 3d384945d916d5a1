/**
 * Template helpers shared by the infrastructure tests: a fast App (no bundling, no CloudFormation
 * schema validation; TOOLCHAIN.md), and IAM/API Gateway views of a synthesized template.
 */
import { App, Stack, type CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';

export type Json = Record<string, any>;

export interface Statement {
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource: unknown;
  Condition?: Json;
  Sid?: string;
  Principal?: unknown;
}

/** Bundling skipped and CloudFormation schema validation off; one test elsewhere does both for real. */
export const fastApp = (context: Record<string, unknown> = {}) =>
  new App({ context: { 'aws:cdk:bundling-stacks': [], ...context }, builtinCloudFormationValidation: false });

export const asList = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

/** True when the CloudFormation value references the logical id (Ref or GetAtt, however nested). */
export const refers = (value: unknown, logicalId: string) => JSON.stringify(value ?? null).includes(`"${logicalId}"`);

/** Does an IAM action pattern (wildcards allowed) cover the action? */
export function covers(pattern: string, action: string): boolean {
  const re = new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 'i');
  return re.test(action);
}

/** A synthesized stack with lookups by construct. */
export class Synth {
  readonly template: Template;
  readonly resources: Record<string, Json>;

  constructor(readonly stack: Stack) {
    this.template = Template.fromStack(stack);
    this.resources = this.template.toJSON()['Resources'];
  }

  /** Logical id of a construct's CloudFormation resource (its default child, if it has one). */
  id(construct: IConstruct): string {
    const element = (construct.node.defaultChild ?? construct) as CfnElement;
    return this.stack.getLogicalId(element);
  }

  resource(construct: IConstruct): Json {
    const r = this.resources[this.id(construct)];
    if (!r) throw new Error(`no resource for ${construct.node.path}`);
    return r;
  }

  ofType(type: string): [string, Json][] {
    return Object.entries(this.resources).filter(([, r]) => r['Type'] === type);
  }

  /** Every statement of every identity policy attached to the role (inline or AWS::IAM::Policy). */
  statementsOf(roleId: string): Statement[] {
    const attached = this.ofType('AWS::IAM::Policy')
      .filter(([, p]) => asList(p['Properties']['Roles'] ?? []).some((r: unknown) => refers(r, roleId)))
      .flatMap(([, p]) => p['Properties']['PolicyDocument']['Statement'] as Statement[]);
    const inline = ((this.resources[roleId]?.['Properties']?.['Policies'] ?? []) as Json[]).flatMap((p) => p['PolicyDocument']['Statement'] as Statement[]);
    return [...attached, ...inline];
  }

  allowing(roleId: string, action: string): Statement[] {
    return this.statementsOf(roleId).filter((s) => s.Effect === 'Allow' && asList(s.Action).some((a) => covers(a, action)));
  }

  denying(roleId: string, action: string): Statement[] {
    return this.statementsOf(roleId).filter((s) => s.Effect === 'Deny' && asList(s.Action).some((a) => covers(a, action)));
  }

  allowedActions(roleId: string): string[] {
    return this.statementsOf(roleId)
      .filter((s) => s.Effect === 'Allow')
      .flatMap((s) => asList(s.Action));
  }

  /** Full path of an API Gateway resource, from its PathPart chain up to the root. */
  resourcePath(resourceId: string): string {
    const r = this.resources[resourceId];
    if (!r || r['Type'] !== 'AWS::ApiGateway::Resource') return '';
    const parent = r['Properties']['ParentId'];
    const parentPath = parent && parent['Ref'] ? this.resourcePath(parent['Ref']) : '';
    return `${parentPath}/${r['Properties']['PathPart']}`;
  }

  methods(): { id: string; method: string; path: string; props: Json }[] {
    return this.ofType('AWS::ApiGateway::Method').map(([id, m]) => {
      const resourceRef = m['Properties']['ResourceId'];
      return { id, method: m['Properties']['HttpMethod'], path: resourceRef['Ref'] ? this.resourcePath(resourceRef['Ref']) : '/', props: m['Properties'] };
    });
  }
}
