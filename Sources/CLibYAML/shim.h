#ifndef POLICY_CHANGE_CLIBYAML_SHIM_H
#define POLICY_CHANGE_CLIBYAML_SHIM_H
#include <yaml.h>
#endif
